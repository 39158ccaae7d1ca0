//! `sagactl flood`: a hostile HTTP load against a service, for the soak and for tests of
//! issue 15's "no request can starve the sagas". Every request costs the service
//! parsing or database work (reads of unknown and known orders, their events and past
//! states; malformed, contract-breaking and oversized bodies; cancels of orders nobody
//! placed), and `--slow` connections send half a request head, then nothing.
//!
//! It never places a valid order nor touches a known one's state, so a saga's outcome
//! is the same with the flood as without it: every POST body is malformed, oversized or
//! breaks the contract, and cancels go to ids nobody placed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use clap::Args;
use service_kit::config::parse_duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use uuid::Uuid;

#[derive(Debug, Args)]
pub(crate) struct FloodArgs {
    /// The service to flood (its base URL).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: u32,
    /// How long to flood (`30s`, `2m`, ...).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Slow-loris connections held open beside the requests: each sends half a request
    /// head and then nothing, and connects again once the server cuts it.
    #[arg(long, default_value_t = 0)]
    slow: u32,
    /// The order service's database, read for ids of orders that exist (reads of known
    /// orders cost the event store a fold); without it only unknown ids are read.
    #[arg(
        long,
        env = "ORDERS_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/orders"
    )]
    orders_db: String,
}

/// One kind of request of the flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Shot {
    GetUnknown,
    GetKnown,
    EventsUnknown,
    EventsKnown,
    /// `GET /orders/{known}?at=<a past moment>`: the event store folds up to it.
    AtKnown,
    /// `?at=` that is not a time.
    AtMalformed,
    /// A path id that is not a UUID.
    BadId,
    PostMalformed,
    /// Well-formed JSON that breaks the order's contract.
    PostInvalid,
    /// A body far past the API's limit.
    PostOversized,
    CancelUnknown,
}

/// The flood's mix, as weights out of 20.
const MIX: [(Shot, u32); 11] = [
    (Shot::GetUnknown, 3),
    (Shot::GetKnown, 3),
    (Shot::EventsUnknown, 1),
    (Shot::EventsKnown, 2),
    (Shot::AtKnown, 2),
    (Shot::AtMalformed, 1),
    (Shot::BadId, 1),
    (Shot::PostMalformed, 2),
    (Shot::PostInvalid, 2),
    (Shot::PostOversized, 1),
    (Shot::CancelUnknown, 2),
];

/// The n-th request's kind, spread evenly over the mix (a deterministic weighted round
/// robin, as `sagactl load` spreads its outcomes).
fn shot_of(n: u64) -> Shot {
    let total: u64 = MIX.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut slot = n.wrapping_mul(7919) % total;
    for (shot, weight) in MIX {
        if slot < u64::from(weight) {
            return shot;
        }
        slot -= u64::from(weight);
    }
    MIX[0].0
}

/// Order bodies that break the contract; the API answers them 422 before any write.
const INVALID_BODIES: [&[u8]; 3] = [
    br#"{"customer_id":"flood-c","items":[{"sku":"load-sku-000","quantity":0,"unit_price_cents":100}],"currency":"EUR"}"#,
    br#"{"customer_id":"flood-c","items":[],"currency":"EUR"}"#,
    br#"{"customer_id":"flood-c","items":[{"sku":"load-sku-000","quantity":1,"unit_price_cents":-100}],"currency":"EUR"}"#,
];

const MALFORMED_BODIES: [&[u8]; 3] = [
    br#"{"customer_id": "flood-c", "items": [{"sku": "#,
    b"\xff\xfe not even text",
    br#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["#,
];

/// 1 MiB, sixteen times the API's body limit; it also breaks the contract (a zero
/// quantity and an SKU far past the id bound) should the limit ever go.
fn oversized_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let sku = "x".repeat(1024 * 1024);
        format!(r#"{{"customer_id":"flood-c","items":[{{"sku":"{sku}","quantity":0,"unit_price_cents":1}}],"currency":"EUR"}}"#)
            .into_bytes()
    })
}

/// One request, planned before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    post: bool,
    /// Path and query, from the service's root.
    path: String,
    body: Option<&'static [u8]>,
}

/// The n-th request: `known` are ids of orders that exist (may be empty), `unknown` an
/// id nobody placed.
fn plan(n: u64, known: &[String], unknown: Uuid) -> Planned {
    let some_known = || match known.len() {
        0 => unknown.to_string(),
        len => known[(n as usize) % len].clone(),
    };
    let get = |path: String| Planned {
        post: false,
        path,
        body: None,
    };
    let post = |path: String, body: &'static [u8]| Planned {
        post: true,
        path,
        body: Some(body),
    };
    let pick = |bodies: &[&'static [u8]]| bodies[(n as usize / MIX.len()) % bodies.len()];
    match shot_of(n) {
        Shot::GetUnknown => get(format!("/orders/{unknown}")),
        Shot::GetKnown => get(format!("/orders/{}", some_known())),
        Shot::EventsUnknown => get(format!("/orders/{unknown}/events")),
        Shot::EventsKnown => get(format!("/orders/{}/events", some_known())),
        Shot::AtKnown => {
            let at = Utc::now() - chrono::TimeDelta::milliseconds((n % 60_000) as i64);
            let at = at.to_rfc3339_opts(SecondsFormat::Millis, true);
            get(format!("/orders/{}?at={at}", some_known()))
        }
        Shot::AtMalformed => get(format!("/orders/{}?at=yesterday%00", some_known())),
        Shot::BadId => get(format!("/orders/flood-{n}-not-a-uuid/events")),
        Shot::PostMalformed => post("/orders".to_owned(), pick(&MALFORMED_BODIES)),
        Shot::PostInvalid => post("/orders".to_owned(), pick(&INVALID_BODIES)),
        Shot::PostOversized => post("/orders".to_owned(), oversized_body()),
        Shot::CancelUnknown => post(format!("/orders/{unknown}/cancel"), b""),
    }
}

/// What the flood saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Summary {
    by_status: BTreeMap<u16, u64>,
    /// Requests without an answer: refused, reset, timed out.
    errors: u64,
    /// Slow connections the server closed.
    slow_cut: u64,
}

impl Summary {
    fn merge(&mut self, other: Summary) {
        for (status, n) in other.by_status {
            *self.by_status.entry(status).or_default() += n;
        }
        self.errors += other.errors;
        self.slow_cut += other.slow_cut;
    }

    fn answered(&self) -> u64 {
        self.by_status.values().sum()
    }

    /// `flood: requests=N by_status={200:..,404:..} errors=E slow_cut=S`.
    fn line(&self) -> String {
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(status, n)| format!("{status}:{n}"))
            .collect();
        format!(
            "flood: requests={} by_status={{{}}} errors={} slow_cut={}",
            self.answered() + self.errors,
            statuses.join(","),
            self.errors,
            self.slow_cut
        )
    }
}

pub(crate) async fn run(args: FloodArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_owned();
    let authority = reqwest::Url::parse(&base)?;
    let address = format!(
        "{}:{}",
        authority.host_str().unwrap_or("127.0.0.1"),
        authority.port_or_known_default().unwrap_or(80)
    );
    let deadline = Instant::now() + args.duration;
    let known = Arc::new(RwLock::new(Vec::new()));
    let watcher = tokio::spawn(watch_known_orders(args.orders_db, Arc::clone(&known)));
    // No client-side timeout beyond the flood's end: a slow answer is what we measure.
    let http = super::http_client::builder()?
        .connect_timeout(Duration::from_secs(5))
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, base, known, next) = (
            http.clone(),
            base.clone(),
            Arc::clone(&known),
            Arc::clone(&next),
        );
        tasks.spawn(async move {
            let mut summary = Summary::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let planned = plan(n, &known.read().expect("known ids"), Uuid::now_v7());
                let sent = send(&http, &base, planned);
                match tokio::time::timeout_at(deadline, sent).await {
                    Err(_) => return summary,
                    Ok(Ok(status)) => *summary.by_status.entry(status).or_default() += 1,
                    Ok(Err(_)) => summary.errors += 1,
                }
            }
        });
    }
    for _ in 0..args.slow {
        let address = address.clone();
        tasks.spawn(async move {
            let mut summary = Summary::default();
            while tokio::time::timeout_at(deadline, slow_connection(&address))
                .await
                .is_ok()
            {
                summary.slow_cut += 1;
            }
            summary
        });
    }
    let mut summary = Summary::default();
    while let Some(done) = tasks.join_next().await {
        summary.merge(done?);
    }
    watcher.abort();
    println!("{}", summary.line());
    anyhow::ensure!(
        summary.answered() > 0 || summary.errors == 0,
        "no request was answered: is a service listening on {base}?"
    );
    Ok(())
}

async fn send(http: &reqwest::Client, base: &str, planned: Planned) -> reqwest::Result<u16> {
    let url = format!("{base}{}", planned.path);
    let request = match planned.body {
        Some(body) => http
            .post(url)
            .header("content-type", "application/json")
            .body(body),
        None => http.get(url),
    };
    let response = request.send().await?;
    let status = response.status().as_u16();
    // Read the answer to its end, so the connection is reused as a client's would be.
    response.bytes().await?;
    Ok(status)
}

/// One slow-loris connection: half a request head, then silence until the server
/// closes it (returns) or the flood ends (the caller drops it). A refused connection
/// is tried again after a pause, without counting as a cut.
async fn slow_connection(address: &str) {
    const HALF_HEAD: &[u8] =
        b"GET /orders/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: flood\r\nX-Slow: ";
    loop {
        let Ok(stream) = TcpStream::connect(address).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut written = 0;
        while written < HALF_HEAD.len() {
            if stream.writable().await.is_err() {
                break;
            }
            match stream.try_write(&HALF_HEAD[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        // Whatever the server says (a 408, say), the cut is the end of the stream.
        let mut buffer = [0u8; 1024];
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match stream.try_read(&mut buffer) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

/// Keeps `known` filled with the ids of the latest orders, every two seconds, so the
/// flood reads sagas while they run. Without the database it leaves `known` empty.
async fn watch_known_orders(url: String, known: Arc<RwLock<Vec<String>>>) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(&url);
    let Ok(pool) = pool else {
        eprintln!("flood: no orders database; only unknown ids are read");
        return;
    };
    let mut warned = false;
    loop {
        let ids = sqlx::query_scalar::<_, String>(
            "SELECT order_id::text FROM order_view ORDER BY created_at DESC LIMIT 256",
        )
        .fetch_all(&pool)
        .await;
        match ids {
            Ok(ids) => *known.write().expect("known ids") = ids,
            Err(err) if !warned => {
                eprintln!("flood: cannot read known orders ({err}); reading unknown ids");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `body` would place an order: JSON the API accepts, at most its 64 KiB,
    /// with at least one line, every quantity and price positive.
    fn would_place(body: &[u8]) -> bool {
        let Ok(order) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        let Some(items) = order["items"].as_array() else {
            return false;
        };
        body.len() <= 64 * 1024
            && !items.is_empty()
            && items.iter().all(|line| {
                line["quantity"].as_i64().is_some_and(|q| q > 0)
                    && line["unit_price_cents"].as_i64().is_some_and(|p| p > 0)
            })
    }

    #[test]
    fn the_mix_spreads_its_weights_exactly() {
        let mut counts = BTreeMap::new();
        for n in 0..2000 {
            *counts.entry(shot_of(n)).or_insert(0) += 1;
        }
        for (shot, weight) in MIX {
            assert_eq!(counts[&shot], weight * 100, "{shot:?}");
        }
    }

    #[test]
    fn the_flood_never_places_an_order_nor_cancels_a_known_one() {
        let known: Vec<String> = (0..5).map(|_| Uuid::now_v7().to_string()).collect();
        let mut bodies = std::collections::BTreeSet::new();
        for n in 0..2000 {
            let planned = plan(n, &known, Uuid::now_v7());
            if !planned.post {
                continue;
            }
            if planned.path == "/orders" {
                let body = planned.body.expect("a POST to /orders has a body");
                assert!(!would_place(body), "{}", String::from_utf8_lossy(body));
                bodies.insert(body);
            } else {
                assert!(planned.path.ends_with("/cancel"), "{}", planned.path);
                assert!(!known.iter().any(|id| planned.path.contains(id.as_str())));
            }
        }
        // Every hostile body is sent, not only the first of each kind.
        assert_eq!(
            bodies.len(),
            MALFORMED_BODIES.len() + INVALID_BODIES.len() + 1
        );
        assert!(would_place(
            br#"{"customer_id":"c","items":[{"sku":"s","quantity":1,"unit_price_cents":1}],"currency":"EUR"}"#
        ));
    }

    #[test]
    fn reads_of_known_orders_fall_back_to_unknown_ids_when_none_is_known() {
        let unknown = Uuid::now_v7();
        let n = (0..).find(|n| shot_of(*n) == Shot::GetKnown).unwrap();
        assert_eq!(plan(n, &[], unknown).path, format!("/orders/{unknown}"));
        let known = vec!["k".to_owned()];
        assert_eq!(plan(n, &known, unknown).path, "/orders/k");
    }

    #[test]
    fn the_summary_is_one_line_with_every_status_and_the_cuts() {
        let mut summary = Summary::default();
        summary.by_status.insert(404, 7);
        summary.errors = 1;
        let mut other = Summary::default();
        other.by_status.insert(200, 2);
        other.by_status.insert(404, 1);
        other.slow_cut = 3;
        summary.merge(other);
        assert_eq!(
            summary.line(),
            "flood: requests=11 by_status={200:2,404:8} errors=1 slow_cut=3"
        );
        assert_eq!(
            Summary::default().line(),
            "flood: requests=0 by_status={} errors=0 slow_cut=0"
        );
    }
}
