use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use messaging::EventProducer;
use outbox::{OutboxRecord, Relay, RelayConfig, Wakeup};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use test_support::TestDatabase;
use uuid::Uuid;

/// A migrated database of its own, and a topic of its own.
pub struct Fixture {
    pub database: TestDatabase,
    pub pool: PgPool,
    pub topic: String,
}

impl Fixture {
    pub async fn new(label: &str) -> anyhow::Result<Self> {
        let database = TestDatabase::create(label).await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(&database.url)
            .await?;
        messaging::schema::migrator().run(&pool).await?;
        let topic = test_support::create_topic(label, 6).await?;
        Ok(Self {
            database,
            pool,
            topic,
        })
    }

    pub fn relay(&self, config: RelayConfig) -> anyhow::Result<Relay> {
        let producer = EventProducer::new(&test_support::kafka())?;
        Ok(Relay::new(
            &self.database.url,
            producer,
            Wakeup::new(),
            config,
        ))
    }

    /// A record on this fixture's topic: `{"order_id": key, "seq": seq}` plus `padding`
    /// bytes of hex that compression cannot shrink much.
    pub fn record(&self, key: &str, seq: u64, padding: usize) -> OutboxRecord {
        OutboxRecord {
            topic: self.topic.clone(),
            key: key.to_owned(),
            event_id: Uuid::now_v7(),
            event_type: "test.sequenced.v1".to_owned(),
            payload: serde_json::json!({"order_id": key, "seq": seq, "padding": incompressible(padding)}),
            headers: BTreeMap::from([("ce_type".to_owned(), "test.sequenced.v1".to_owned())]),
        }
    }

    pub async fn unpublished(&self) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Enqueues one record of `key` in a committed transaction.
    pub async fn enqueue_one(&self, key: &str, seq: u64) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        outbox::enqueue(&mut tx, &self.record(key, seq, 0)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Waits until no row is unpublished, for up to `seconds`.
    pub async fn until_published(&self, seconds: u64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        while self.unpublished().await? > 0 {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "rows still unpublished after {seconds}s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.database.drop_database().await
    }
}

/// Every `(key, seq)` on `topic`, per key in the order consumed, until `expected`
/// messages arrived and nothing more came for a second.
pub async fn consume_all(
    topic: &str,
    expected: usize,
) -> anyhow::Result<HashMap<String, Vec<u64>>> {
    let consumer: StreamConsumer = test_support::kafka()
        .consumer(&test_support::unique_name("outbox-test"))
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut by_key: HashMap<String, Vec<u64>> = HashMap::new();
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let quiet = if seen >= expected {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        let next = tokio::time::timeout(quiet, consumer.recv()).await;
        let Ok(message) = next else { break };
        let message = message?;
        let body: serde_json::Value =
            serde_json::from_slice(message.payload().unwrap_or_default())?;
        let key = String::from_utf8(message.key().unwrap_or_default().to_vec())?;
        by_key
            .entry(key)
            .or_default()
            .push(body["seq"].as_u64().unwrap());
        seen += 1;
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "consuming took over 120s"
        );
    }
    Ok(by_key)
}

fn incompressible(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 32);
    while text.len() < bytes {
        text.push_str(&Uuid::now_v7().simple().to_string());
    }
    text.truncate(bytes);
    text
}
