//! One service of its own for a test (fresh database, topics and consumer group, an
//! ephemeral port), a way to send it events as their producer would, and a reader of
//! its dead letters.

use std::future::Future;
use std::time::Duration;

use contracts::EventMetadata;
use contracts::events::TopicEvent;
use messaging::headers::event_headers;
use messaging::{EventProducer, KafkaConfig};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use service_kit::config::Resolved;
use service_kit::{App, ServiceSpec, Shutdown};
use sqlx::PgPool;
use uuid::Uuid;

use crate::TestDatabase;

/// A running service and what a test reaches it with.
#[derive(Debug)]
pub struct Harness {
    pub kafka: KafkaConfig,
    pub group: String,
    /// The service's request pool, for the test's own queries.
    pub pool: PgPool,
    pub database: TestDatabase,
    producer: EventProducer,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    /// Builds the service of `spec` with `build` on a database, topics and group named
    /// after `label`, and runs it.
    pub async fn start<F, Fut>(label: &str, spec: &ServiceSpec, build: F) -> anyhow::Result<Self>
    where
        F: FnOnce(Resolved, Shutdown) -> Fut,
        Fut: Future<Output = anyhow::Result<App>>,
    {
        let group = crate::unique_name(&format!("{label}-group"));
        let kafka = crate::isolated_kafka(label, &[&group]).await?;
        let database = TestDatabase::create(label).await?;
        let config = crate::service_config(&kafka, &database.url, &group).resolve(spec);
        let shutdown = Shutdown::new();
        let app = build(config, shutdown.clone()).await?;
        let pool = app.parts().pool.clone();
        let task = tokio::spawn(app.run());
        Ok(Self {
            producer: EventProducer::new(&kafka)?,
            kafka,
            group,
            pool,
            database,
            shutdown,
            task,
        })
    }

    /// Publishes `event` on its topic, keyed by its order, with fresh metadata.
    pub async fn send<E: TopicEvent>(&self, event: &E) -> anyhow::Result<()> {
        let correlation = Uuid::now_v7();
        let metadata = EventMetadata::new(
            event.event_type(),
            "harness",
            chrono::Utc::now(),
            correlation,
            correlation,
        );
        let headers = event_headers(&metadata, &opentelemetry::Context::new());
        self.producer
            .send_raw(
                &self.kafka.topic(E::TOPIC),
                event.order_id().to_string().as_bytes(),
                &event.encode(),
                headers,
            )
            .await?;
        Ok(())
    }

    /// The first `count` dead letters of the service's group.
    pub async fn dead_letters(&self, count: usize) -> anyhow::Result<Vec<Dead>> {
        read_dlq(&self.kafka, &self.group, count).await
    }

    /// Polls `query` (one text column, for `key`) until it returns a row, for up to 30 s.
    pub async fn await_row(&self, query: &str, key: Uuid) -> anyhow::Result<String> {
        for _ in 0..150 {
            let row: Option<String> = sqlx::query_scalar(query)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                return Ok(row);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("no row for {key} within 30 s: {query}")
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.task).await???;
        self.pool.close().await;
        self.database.drop_database().await
    }
}

/// A dead letter: its key, body and headers.
#[derive(Debug)]
pub struct Dead {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Dead {
    /// The last value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Header `name`, or empty text when it is missing.
    pub fn text(&self, name: &str) -> String {
        self.header(name).unwrap_or_default()
    }

    pub fn key_text(&self) -> String {
        String::from_utf8_lossy(&self.key).into_owned()
    }
}

/// The first `count` messages of `group`'s DLQ in `kafka`'s deployment.
pub async fn read_dlq(kafka: &KafkaConfig, group: &str, count: usize) -> anyhow::Result<Vec<Dead>> {
    let consumer: StreamConsumer = kafka.consumer(&crate::unique_name("dlq-reader")).create()?;
    consumer.subscribe(&[&kafka.topic(&contracts::topics::dlq_topic(group))])?;
    let mut dead = Vec::new();
    while dead.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| {
                anyhow::anyhow!("only {} of {count} dead letters in 30 s", dead.len())
            })??;
        dead.push(Dead {
            key: message.key().unwrap_or_default().to_vec(),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: message
                .headers()
                .map(|h| messaging::headers::as_text(h).into_iter().collect())
                .unwrap_or_default(),
        });
    }
    Ok(dead)
}
