//! Isolation for tests that cross a boundary: every test gets its own database, topics
//! and consumer groups on the real servers (started by `scripts/infra up`), so tests
//! run in parallel and never see each other's data.
//!
//! Addresses come from the same environment variables the services read, defaulting
//! to the local infrastructure of DESIGN.md §7.

pub mod blackhole;
pub mod fuzz;
pub mod harness;
pub mod proxy;
pub mod service;

pub use service::service_config;

use anyhow::Context as _;
use contracts::topics::TopicSpec;
use messaging::KafkaConfig;
use messaging::admin::ensure_topics;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Prefix of every database a test creates; `scripts/test` drops leftovers by it.
pub const TEST_DATABASE_PREFIX: &str = "test_";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

pub fn kafka_bootstrap_servers() -> String {
    env_or("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
}

pub fn kafka() -> KafkaConfig {
    KafkaConfig::new(kafka_bootstrap_servers())
}

/// The server's maintenance database, for creating and dropping test databases.
pub fn postgres_admin_url() -> String {
    env_or(
        "TEST_POSTGRES_ADMIN_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

pub fn otlp_endpoint() -> String {
    env_or("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
}

pub fn jaeger_query_url() -> String {
    env_or("JAEGER_QUERY_URL", "http://127.0.0.1:16686")
}

/// `prefix-<uuid>`: a name no other test run uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

/// The PostgreSQL server's address, for a [`proxy::TcpProxy`] in front of it.
pub fn postgres_addr() -> std::net::SocketAddr {
    std::env::var("TEST_POSTGRES_ADDR")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 5432)))
}

/// A database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// Creates an empty database named `test_<label>_<uuid>`.
    pub async fn create(label: &str) -> anyhow::Result<Self> {
        let name = format!("{TEST_DATABASE_PREFIX}{label}_{}", Uuid::now_v7().simple());
        let admin_url = postgres_admin_url();
        let mut admin = PgConnection::connect(&admin_url).await.with_context(|| {
            format!("connecting to {admin_url} (is `scripts/infra up` running?)")
        })?;
        sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {name}"))?;
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .context("the admin URL names a database")?;
        Ok(Self {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// The same database reached through `proxy` (a cuttable path to the server).
    pub fn url_via(&self, proxy: std::net::SocketAddr) -> String {
        format!("postgres://postgres@{proxy}/{}", self.name)
    }

    /// Drops the database, closing whatever is still connected to it.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&postgres_admin_url()).await?;
        sqlx::query(&format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

/// Creates a topic of its own for one test (`prefix-<uuid>`), returning its name.
pub async fn create_topic(prefix: &str, partitions: i32) -> anyhow::Result<String> {
    let name = unique_name(prefix);
    let spec = TopicSpec {
        name: name.clone(),
        partitions,
        max_message_bytes: contracts::topics::SAGA_TOPIC_MAX_BYTES,
    };
    ensure_topics(&kafka(), &[spec])
        .await
        .with_context(|| format!("creating topic {name} (is `scripts/infra up` running?)"))?;
    Ok(name)
}

/// A topic prefix no other test uses, with every saga topic (and the `.retry` and
/// `.dlq` topics of `groups`) created under it: a deployment of its own on the shared
/// cluster. Returns the Kafka settings that use it.
pub async fn isolated_kafka(label: &str, groups: &[&str]) -> anyhow::Result<KafkaConfig> {
    let prefix = format!("{}.", unique_name(label));
    let kafka = kafka().with_topic_prefix(prefix);
    let mut specs: Vec<TopicSpec> = contracts::topics::SAGA_TOPICS
        .iter()
        .map(|name| TopicSpec {
            name: kafka.topic(name),
            partitions: 3,
            max_message_bytes: contracts::topics::SAGA_TOPIC_MAX_BYTES,
        })
        .collect();
    for group in groups {
        for name in [
            contracts::topics::retry_topic(group),
            contracts::topics::dlq_topic(group),
        ] {
            specs.push(TopicSpec {
                name: kafka.topic(&name),
                partitions: 3,
                max_message_bytes: contracts::topics::SIDE_TOPIC_MAX_BYTES,
            });
        }
    }
    ensure_topics(&kafka, &specs).await?;
    Ok(kafka)
}

/// Creates `<group>.retry` and `<group>.dlq` for a test's own consumer group.
pub async fn create_group_topics(group: &str) -> anyhow::Result<()> {
    let specs: Vec<TopicSpec> = [
        contracts::topics::retry_topic(group),
        contracts::topics::dlq_topic(group),
    ]
    .into_iter()
    .map(|name| TopicSpec {
        name,
        partitions: 3,
        max_message_bytes: contracts::topics::SIDE_TOPIC_MAX_BYTES,
    })
    .collect();
    ensure_topics(&kafka(), &specs).await?;
    Ok(())
}

/// Changes a test topic's `max.message.bytes`, e.g. to provoke a size refusal.
pub async fn set_topic_max_message_bytes(topic: &str, bytes: usize) -> anyhow::Result<()> {
    messaging::admin::set_topic_config(&kafka(), topic, "max.message.bytes", &bytes.to_string())
        .await?;
    // The broker applies topic configs asynchronously; give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    Ok(())
}
