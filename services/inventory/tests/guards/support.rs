//! An inventory service of its own (fresh database, topics and group, port 0), a way to
//! send it events as order would, and a reader of its DLQ.

use std::time::Duration;

use contracts::events::TopicEvent;
use contracts::{Currency, EventMetadata, LineItem, OrderId, PaymentEvent};
use messaging::headers::event_headers;
use messaging::{EventProducer, KafkaConfig};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use service_kit::Shutdown;
use sqlx::PgPool;
use test_support::TestDatabase;
use uuid::Uuid;

pub struct Inventory {
    pub kafka: KafkaConfig,
    pub group: String,
    pub pool: PgPool,
    pub database: TestDatabase,
    producer: EventProducer,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Inventory {
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        let group = test_support::unique_name("inventory-test");
        let kafka = test_support::isolated_kafka(label, &[&group]).await?;
        let database = TestDatabase::create(label).await?;
        let config = test_support::service_config(&kafka, &database.url, &group)
            .resolve(&inventory_service::SPEC);
        let shutdown = Shutdown::new();
        let app = inventory_service::build(config, shutdown.clone()).await?;
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

    /// Publishes `event` on its topic as its producer would.
    pub async fn send<E: TopicEvent>(&self, event: &E) -> anyhow::Result<()> {
        let correlation = Uuid::now_v7();
        let metadata = EventMetadata::new(
            event.event_type(),
            "guards-test",
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

    /// The first `count` dead letters.
    pub async fn dead_letters(&self, count: usize) -> anyhow::Result<Vec<Dead>> {
        read_dlq(&self.kafka, &self.group, count).await
    }

    /// The order's reservation status, once it has one other than `new`.
    pub async fn status_of(&self, order: OrderId) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT status FROM order_reservations WHERE order_id = $1 AND status <> 'new'",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// `(available, reserved)` of a SKU.
    pub async fn stock(&self, sku: &str) -> anyhow::Result<(i64, i64)> {
        Ok(
            sqlx::query_as("SELECT available, reserved FROM stock WHERE sku = $1")
                .bind(sku)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn movements(&self, order: OrderId) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM stock_movements WHERE order_id = $1")
                .bind(order.0)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Waits until the order's reservation leaves `new`, for up to 30 s.
    pub async fn settled(&self, order: OrderId) -> anyhow::Result<String> {
        for _ in 0..150 {
            if let Some(status) = self.status_of(order).await? {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("order {order} was not handled within 30 s")
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.task).await???;
        self.pool.close().await;
        self.database.drop_database().await
    }
}

/// A dead letter: its key and headers.
#[derive(Debug)]
pub struct Dead {
    pub key: String,
    pub headers: Vec<(String, String)>,
}

impl Dead {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// The first `count` messages of the group's DLQ in `kafka`'s deployment.
pub async fn read_dlq(kafka: &KafkaConfig, group: &str, count: usize) -> anyhow::Result<Vec<Dead>> {
    let consumer: StreamConsumer = kafka
        .consumer(&test_support::unique_name("dlq-reader"))
        .create()?;
    consumer.subscribe(&[&kafka.topic(&contracts::topics::dlq_topic(group))])?;
    let mut dead = Vec::new();
    while dead.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| {
                anyhow::anyhow!("only {} of {count} dead letters in 30 s", dead.len())
            })??;
        dead.push(Dead {
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            headers: message
                .headers()
                .map(|h| messaging::headers::as_text(h).into_iter().collect())
                .unwrap_or_default(),
        });
    }
    Ok(dead)
}

pub fn line(sku: &str, quantity: u32, unit_price_cents: i64) -> LineItem {
    LineItem {
        sku: sku.to_owned(),
        quantity,
        unit_price_cents,
    }
}

/// A `PaymentCompleted` for `c-rich` with these lines, its amount their total.
pub fn paid(order_id: OrderId, items: Vec<LineItem>) -> PaymentEvent {
    let amount_cents = items
        .iter()
        .map(|l| l.unit_price_cents * i64::from(l.quantity))
        .sum();
    PaymentEvent::Completed(contracts::events::PaymentCompleted {
        order_id,
        payment_id: Uuid::now_v7(),
        customer_id: "c-rich".into(),
        amount_cents,
        currency: Currency::Eur,
        items,
    })
}
