//! Configuration from environment variables (DESIGN.md §7), with defaults that make a
//! bare `cargo run` work against the local infrastructure.

use std::net::SocketAddr;

use clap::Args;
use telemetry::{LogFormat, TelemetryConfig};

/// The settings every service reads. Per-service defaults (database, port, name) are
/// filled in by [`ServiceConfig::resolve`] from the service's [`crate::ServiceSpec`].
#[derive(Debug, Clone, Args)]
pub struct ServiceConfig {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    pub kafka_bootstrap_servers: String,

    /// Prepended to every topic name: topics of their own for a test or a second
    /// deployment on one cluster.
    #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "")]
    pub kafka_topic_prefix: String,

    /// PostgreSQL URL; defaults to the service's own database on 127.0.0.1:5432. Its
    /// value is never shown, in `--help` or in `Debug`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = database_url)]
    pub database_url: Option<messaging::session::DatabaseUrl>,

    /// A file holding the database user's password (a mounted secret), for a
    /// `DATABASE_URL` without one.
    #[arg(long, env = "DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<std::path::PathBuf>,

    /// Pooled database connections for HTTP requests. The sagas (consumers, deadlines,
    /// housekeeping) have a pool of their own, so no flood of requests can take theirs.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Pooled database connections for the sagas: consumers, timers, housekeeping.
    /// The relay has one more, its leader session.
    #[arg(long, env = "DATABASE_SAGA_CONNECTIONS", default_value_t = 4)]
    pub database_saga_connections: u32,

    /// The server-side `statement_timeout` of every session.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub database_statement_timeout: std::time::Duration,

    /// The server-side `lock_timeout` of every session.
    #[arg(long, env = "DATABASE_LOCK_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub database_lock_timeout: std::time::Duration,

    /// The longest the service awaits PostgreSQL's answer (a statement of the relay, a
    /// transaction of a consumer) before it gives the connection up as silent.
    #[arg(long, env = "DATABASE_CLIENT_DEADLINE", default_value = "30s", value_parser = parse_duration)]
    pub database_client_deadline: std::time::Duration,

    /// Requests an instance handles at once; more are answered 503 with `Retry-After`.
    /// Reads may take three quarters of them, so writes always find a slot.
    #[arg(long, env = "HTTP_MAX_IN_FLIGHT", default_value_t = 32)]
    pub http_max_in_flight: usize,

    /// Open HTTP connections an instance accepts; more wait in the listen backlog.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 1024)]
    pub http_max_connections: usize,

    /// A request's deadline; one that takes longer is answered 503 and rolled back.
    #[arg(long, env = "HTTP_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http_request_timeout: std::time::Duration,

    /// How long a client may take to send a request's head, or keep a connection idle.
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub http_header_read_timeout: std::time::Duration,

    /// PEM files of the Ed25519 public keys that sign bearer tokens, comma-separated
    /// (two while a key rotates). Unset: auth is off and every request may do everything,
    /// as on a developer's loopback (docs/security.md).
    #[arg(long, env = "AUTH_PUBLIC_KEY_FILES", value_delimiter = ',')]
    pub auth_public_key_files: Vec<std::path::PathBuf>,

    /// The audience (`aud`) every token must name.
    #[arg(long, env = "AUTH_AUDIENCE", default_value = "saga")]
    pub auth_audience: String,

    /// HTTPS: the server's certificate chain (PEM), with `HTTP_TLS_KEY_FILE`. Unset: HTTP.
    #[arg(long, env = "HTTP_TLS_CERT_FILE", requires = "http_tls_key_file")]
    pub http_tls_cert_file: Option<std::path::PathBuf>,

    /// HTTPS: the server's private key (PEM).
    #[arg(long, env = "HTTP_TLS_KEY_FILE", requires = "http_tls_cert_file")]
    pub http_tls_key_file: Option<std::path::PathBuf>,

    /// Threads of the API's own runtime (the consumers, relay and timers have theirs).
    #[arg(long, env = "HTTP_THREADS", default_value_t = 1)]
    pub http_threads: usize,

    /// Added to the API threads' nice value (0..=19): when the cores are all busy, the
    /// sagas' threads get them before requests do.
    #[arg(long, env = "HTTP_THREAD_NICE", default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub http_thread_nice: i32,

    /// OTLP/gRPC endpoint spans are exported to; "none" exports nothing.
    #[arg(
        long,
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        hide_env_values = true,
        default_value = "http://127.0.0.1:4317"
    )]
    pub otlp_endpoint: String,

    /// The CA (PEM) of an `https` OTLP endpoint's certificate; unset, the Web PKI's roots.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_CERTIFICATE")]
    pub otlp_certificate: Option<std::path::PathBuf>,

    /// Service name on spans, logs, consumer groups and `ce_source`.
    #[arg(long, env = "OTEL_SERVICE_NAME")]
    pub service_name: Option<String>,

    /// Kafka consumer group; the service name when unset (DESIGN.md §2). Its `.retry`
    /// and `.dlq` topics are named after it.
    #[arg(long, env = "KAFKA_GROUP_ID")]
    pub kafka_group_id: Option<String>,

    /// Static group membership (KIP-345): a name stable across restarts of this replica
    /// and unique among the group's replicas (a pod or container name). A replica that
    /// restarts within the session timeout gets its partitions back without a
    /// rebalance, so a crash stalls no other member. Unset: dynamic membership.
    #[arg(long, env = "KAFKA_GROUP_INSTANCE_ID")]
    pub kafka_group_instance_id: Option<String>,

    /// Fraction of new traces sampled (1.0 traces every saga).
    #[arg(long, env = "OTEL_TRACES_SAMPLER_ARG", default_value_t = 1.0)]
    pub trace_sampling_ratio: f64,

    /// Address the HTTP API listens on; defaults to the service's port on 127.0.0.1.
    #[arg(long, env = "HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// Outbox rows the relay publishes per batch.
    #[arg(long, env = "OUTBOX_BATCH_SIZE", default_value_t = 1000)]
    pub outbox_batch_size: i64,

    /// How long published outbox rows are kept, in hours.
    #[arg(long, env = "OUTBOX_RETENTION_HOURS", default_value_t = 24)]
    pub outbox_retention_hours: u64,

    /// How long the inbox's dedup rows are kept: at least the DLQs' retention (7 days),
    /// so a replay of anything still there is recognised when it is a duplicate.
    #[arg(long, env = "INBOX_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub inbox_retention: std::time::Duration,

    /// How long a state row the consumer created for an order this service never acted
    /// on (an event for an unknown order) is kept.
    #[arg(long, env = "STATE_ROW_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub state_row_retention: std::time::Duration,

    /// Test only: publish every outbox row twice, to prove the consumers' dedup.
    #[arg(
        long,
        env = "OUTBOX_PUBLISH_TWICE",
        default_value_t = false,
        hide = true
    )]
    pub outbox_publish_twice: bool,

    /// How long messages may wait on the consumer's partitions with none handled before
    /// `/readyz` reports it stuck (`60s`, `5m`, ...).
    #[arg(long, env = "CONSUMER_STUCK_AFTER", default_value = "60s", value_parser = parse_duration)]
    pub consumer_stuck_after: std::time::Duration,

    /// Log format on stderr: json | pretty.
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty")]
    pub log_format: LogFormat,

    /// Print the HTTP API's OpenAPI document (generated from the code) and exit.
    #[arg(long)]
    pub openapi: bool,
}

/// [`ServiceConfig`] with every default applied.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub kafka_bootstrap_servers: String,
    pub kafka_topic_prefix: String,
    /// Its `Debug` hides the password.
    pub database_url: messaging::session::DatabaseUrl,
    pub database_max_connections: u32,
    pub database_saga_connections: u32,
    /// Every session's limits, server side and client side.
    pub database_session: messaging::session::SessionLimits,
    pub http_limits: crate::http::HttpLimits,
    pub http_threads: crate::http::ApiThreads,
    /// The token keys' files and audience; `None` is auth off.
    pub auth: Option<(Vec<std::path::PathBuf>, String)>,
    /// `None` serves plain HTTP.
    pub http_tls: Option<crate::http::tls::TlsFiles>,
    pub service_name: String,
    pub consumer_group: String,
    pub consumer_instance_id: Option<String>,
    pub consumer_stuck_after: std::time::Duration,
    pub http_addr: SocketAddr,
    pub telemetry: TelemetryConfig,
    pub relay: outbox::RelayConfig,
    /// Published outbox rows are pruned after this long.
    pub outbox_retention: std::time::Duration,
    pub inbox_retention: std::time::Duration,
    pub state_row_retention: std::time::Duration,
}

impl ServiceConfig {
    /// [`Self::resolve`], with the files it names read: the database password.
    pub fn load(&self, spec: &crate::ServiceSpec) -> anyhow::Result<Resolved> {
        use anyhow::Context as _;
        let mut resolved = self.resolve(spec);
        if let Some(path) = &self.database_password_file {
            let password = std::fs::read_to_string(path)
                .with_context(|| format!("reading DATABASE_PASSWORD_FILE {}", path.display()))?;
            resolved.database_url = resolved
                .database_url
                .with_password(password.trim_end_matches(['\r', '\n']))
                .map_err(|why| anyhow::anyhow!("DATABASE_URL: {why}"))?;
        }
        Ok(resolved)
    }

    pub fn resolve(&self, spec: &crate::ServiceSpec) -> Resolved {
        let service_name = self
            .service_name
            .clone()
            .unwrap_or_else(|| spec.name.to_owned());
        let otlp_endpoint = match self.otlp_endpoint.as_str() {
            "" | "none" => None,
            endpoint => Some(endpoint.to_owned()),
        };
        let telemetry = TelemetryConfig {
            otlp_endpoint,
            otlp_certificate: self.otlp_certificate.clone(),
            sampling_ratio: self.trace_sampling_ratio.clamp(0.0, 1.0),
            log_format: self.log_format,
            ..TelemetryConfig::new(service_name.clone())
        };
        Resolved {
            kafka_bootstrap_servers: self.kafka_bootstrap_servers.clone(),
            kafka_topic_prefix: self.kafka_topic_prefix.clone(),
            database_url: self.database_url.clone().unwrap_or_else(|| {
                messaging::session::DatabaseUrl::new(format!(
                    "postgres://postgres@127.0.0.1:5432/{}",
                    spec.database
                ))
            }),
            database_max_connections: self.database_max_connections.max(1),
            database_saga_connections: self.database_saga_connections.max(2),
            database_session: messaging::session::SessionLimits {
                statement_timeout: self.database_statement_timeout,
                lock_timeout: self.database_lock_timeout,
                client_deadline: self.database_client_deadline,
            },
            http_limits: crate::http::HttpLimits {
                max_connections: self.http_max_connections.max(1),
                max_in_flight: self.http_max_in_flight.max(1),
                request_timeout: self.http_request_timeout,
                header_read_timeout: self.http_header_read_timeout,
            },
            http_threads: crate::http::ApiThreads {
                threads: self.http_threads.max(1),
                nice: self.http_thread_nice,
            },
            auth: (!self.auth_public_key_files.is_empty()).then(|| {
                (
                    self.auth_public_key_files.clone(),
                    self.auth_audience.clone(),
                )
            }),
            http_tls: self
                .http_tls_cert_file
                .clone()
                .zip(self.http_tls_key_file.clone())
                .map(|(certificate, key)| crate::http::tls::TlsFiles { certificate, key }),
            consumer_group: self
                .kafka_group_id
                .clone()
                .unwrap_or_else(|| service_name.clone()),
            consumer_instance_id: self
                .kafka_group_instance_id
                .clone()
                .filter(|id| !id.is_empty()),
            consumer_stuck_after: self.consumer_stuck_after,
            service_name,
            http_addr: self
                .http_addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], spec.http_port))),
            telemetry,
            relay: outbox::RelayConfig {
                batch_size: self.outbox_batch_size.max(1),
                publish_twice: self.outbox_publish_twice,
                topic_prefix: self.kafka_topic_prefix.clone(),
                session: messaging::session::SessionLimits {
                    statement_timeout: self.database_statement_timeout,
                    lock_timeout: self.database_lock_timeout,
                    client_deadline: self.database_client_deadline,
                },
                ..outbox::RelayConfig::default()
            },
            outbox_retention: std::time::Duration::from_secs(self.outbox_retention_hours * 3600),
            inbox_retention: self.inbox_retention,
            state_row_retention: self.state_row_retention,
        }
    }
}

fn database_url(text: &str) -> Result<messaging::session::DatabaseUrl, String> {
    Ok(messaging::session::DatabaseUrl::new(text))
}

/// A duration as the environment and command lines give it: `30s`, `500ms`, `2m`, `1h`, `7d`,
/// or plain seconds (`30`, `0.5`). Every service and `sagactl` read durations with it.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(split) => text.split_at(split),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => return Err(format!("unknown unit in {text:?} (ms, s, m, h, d)")),
    };
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod duration_tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn durations_read_with_a_unit_or_as_plain_seconds() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_duration("3w").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}

#[cfg(test)]
mod secret_tests {
    use clap::{CommandFactory, Parser};

    use super::ServiceConfig;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        service: ServiceConfig,
    }

    const SPEC: crate::ServiceSpec = crate::ServiceSpec {
        name: "test-service",
        database: "test",
        http_port: 0,
        migrations: &[],
        api: || utoipa::openapi::OpenApiBuilder::new().build(),
    };

    #[test]
    fn the_database_password_shows_in_neither_debug_nor_help() {
        let cli = Cli::try_parse_from(["svc", "--database-url", "postgres://u:s3cret@db/x"])
            .expect("parses");
        assert!(!format!("{cli:?}").contains("s3cret"), "{cli:?}");
        let resolved = cli.service.resolve(&SPEC);
        assert!(!format!("{resolved:?}").contains("s3cret"));
        assert_eq!(resolved.database_url.as_str(), "postgres://u:s3cret@db/x");
        let command = Cli::command();
        for id in ["database_url", "otlp_endpoint"] {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .expect("the argument exists");
            assert!(arg.is_hide_env_values_set(), "{id}'s value shows in --help");
        }
    }
}
