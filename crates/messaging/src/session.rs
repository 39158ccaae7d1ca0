//! The limits every PostgreSQL session of a service gets, on both sides of the wire.
//!
//! Server side (set at connect time): no statement, lock wait or idle transaction runs
//! unbounded, and a client that vanished without a FIN or RST (a half-open connection,
//! packets dropped) is noticed within seconds by TCP keepalives and `tcp_user_timeout`,
//! so the server ends its session and frees its locks: the rows it locked, and the
//! outbox relay's advisory lock, which a standby relay is waiting for.
//!
//! Client side: sqlx 0.8 sets no TCP keepalive and no timeout of its own, and a server
//! gone silent never answers, so a server-side timeout cannot fire. [`within`] puts a
//! deadline on what the relay's leader session and the consumers' transactions await.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

/// How long a session may wait for what, and how soon a lost peer is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout`: the longest one statement runs on the server.
    pub statement_timeout: Duration,
    /// `lock_timeout`: the longest a statement waits for a lock.
    pub lock_timeout: Duration,
    /// The longest the client awaits the server's answer (one statement of the relay,
    /// one transaction of a consumer) before it drops the connection and starts again.
    /// Longer than `statement_timeout`, so that the server's own timeout fires first
    /// whenever the server is there to fire it.
    pub client_deadline: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(5),
            client_deadline: Duration::from_secs(30),
        }
    }
}

/// Seconds of silence before the server probes a client, probes, and the gap between
/// them: a vanished client's session ends within about 11 s.
const KEEPALIVE_IDLE_S: u32 = 5;
const KEEPALIVE_INTERVAL_S: u32 = 2;
const KEEPALIVE_COUNT: u32 = 3;
/// Unacknowledged data for this long also ends the session (keepalives only probe an
/// idle connection; a result sent to a vanished client would be retried for minutes).
const TCP_USER_TIMEOUT_MS: u32 = 10_000;

impl SessionLimits {
    /// Options for `url` with these limits as session settings, named `application` in
    /// `pg_stat_activity`.
    pub fn connect_options(
        &self,
        url: &str,
        application: &str,
    ) -> Result<PgConnectOptions, sqlx::Error> {
        let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
        Ok(PgConnectOptions::from_str(url)?
            .application_name(application)
            .options([
                ("statement_timeout", ms(self.statement_timeout)),
                ("lock_timeout", ms(self.lock_timeout)),
                (
                    "idle_in_transaction_session_timeout",
                    ms(self.client_deadline * 2),
                ),
                ("tcp_keepalives_idle", KEEPALIVE_IDLE_S.to_string()),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S.to_string()),
                ("tcp_keepalives_count", KEEPALIVE_COUNT.to_string()),
                ("tcp_user_timeout", TCP_USER_TIMEOUT_MS.to_string()),
            ]))
    }
}

/// `work`, or an I/O error (an infrastructure failure, retried with backoff) when the
/// server has not answered within `deadline`.
pub async fn within<T>(
    deadline: Duration,
    work: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(silent_for(deadline)),
    }
}

/// The error of a server that did not answer within `deadline`: an I/O error, which
/// every caller already treats as the database being away.
pub fn silent_for(deadline: Duration) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("PostgreSQL did not answer within {deadline:?}"),
    ))
}

/// A PostgreSQL URL whose `Debug` hides its password: configurations and relays are
/// printed with `{:?}` in logs and panics, and the URL is their only secret.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with `password` as its user's password (percent-encoded): for a password
    /// kept in a file of its own (`DATABASE_PASSWORD_FILE`, a mounted secret), not in
    /// the URL. The URL must name its user.
    pub fn with_password(&self, password: &str) -> Result<Self, String> {
        let url = &self.0;
        let rest = url.find("://").map(|i| i + 3).ok_or("not a URL")?;
        let authority_end = url[rest..].find(['/', '?']).map_or(url.len(), |i| rest + i);
        let at = url[rest..authority_end]
            .rfind('@')
            .map(|i| rest + i)
            .ok_or("the URL names no user (postgres://USER@host/db) to give the password to")?;
        let user_end = url[rest..at].find(':').map_or(at, |i| rest + i);
        let encoded: String = password
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        Ok(Self(format!(
            "{}:{encoded}{}",
            &url[..user_end],
            &url[at..]
        )))
    }

    /// The URL with the password of its user part, and of a `password=` parameter,
    /// replaced by `***`.
    pub fn redacted(&self) -> String {
        let mut url = self.0.clone();
        if let Some(scheme) = url.find("://") {
            let rest = scheme + 3;
            let authority_end = url[rest..].find('/').map_or(url.len(), |i| rest + i);
            if let Some(at) = url[rest..authority_end].rfind('@').map(|i| rest + i)
                && let Some(colon) = url[rest..at].find(':').map(|i| rest + i)
            {
                url.replace_range(colon + 1..at, "***");
            }
        }
        if let Some(start) = url.find("password=").map(|i| i + "password=".len()) {
            let end = url[start..].find('&').map_or(url.len(), |i| start + i);
            url.replace_range(start..end, "***");
        }
        url
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn a_password_from_a_file_joins_the_url_encoded() {
        let url = DatabaseUrl::new(
            "postgres://payment_service@127.0.0.1:5432/payments?sslmode=verify-full",
        );
        assert_eq!(
            url.with_password("p@ss:w/rd").unwrap().as_str(),
            "postgres://payment_service:p%40ss%3Aw%2Frd@127.0.0.1:5432/payments?sslmode=verify-full"
        );
        let replaced = DatabaseUrl::new("postgres://u:old@h/db")
            .with_password("new")
            .unwrap();
        assert_eq!(replaced.as_str(), "postgres://u:new@h/db");
        assert!(
            DatabaseUrl::new("postgres://h/db")
                .with_password("x")
                .is_err()
        );
        assert!(format!("{replaced:?}").contains("***"));
    }

    #[test]
    fn debug_hides_the_password_wherever_the_url_carries_it() {
        let url = DatabaseUrl::new("postgres://payment:s3cret@db:5432/payments?sslmode=require");
        assert_eq!(
            format!("{url:?}"),
            "postgres://payment:***@db:5432/payments?sslmode=require"
        );
        let url = DatabaseUrl::new("postgres://db/payments?user=p&password=s3cret&x=1");
        assert_eq!(
            format!("{url:?}"),
            "postgres://db/payments?user=p&password=***&x=1"
        );
        let url = DatabaseUrl::new("postgres://postgres@127.0.0.1:5432/orders");
        assert_eq!(
            format!("{url:?}"),
            "postgres://postgres@127.0.0.1:5432/orders"
        );
    }
}
