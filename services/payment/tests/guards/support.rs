//! A payment service of its own (fresh database, topics and group, port 0), a way to
//! send it events as order would, and a reader of its DLQ.

use std::time::Duration;

use contracts::events::TopicEvent;
use contracts::{Currency, EventMetadata, LineItem, OrderEvent, OrderId};
use messaging::headers::event_headers;
use messaging::{EventProducer, KafkaConfig};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use service_kit::Shutdown;
use sqlx::PgPool;
use test_support::TestDatabase;
use uuid::Uuid;

pub struct Payment {
    pub kafka: KafkaConfig,
    pub group: String,
    pub pool: PgPool,
    pub database: TestDatabase,
    producer: EventProducer,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Payment {
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        let group = test_support::unique_name("payment-test");
        let kafka = test_support::isolated_kafka(label, &[&group]).await?;
        let database = TestDatabase::create(label).await?;
        let config = test_support::service_config(&kafka, &database.url, &group)
            .resolve(&payment_service::SPEC);
        let shutdown = Shutdown::new();
        let app = payment_service::build(config, shutdown.clone()).await?;
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

    /// Publishes `event` on its topic as order-service would.
    pub async fn send(&self, event: &OrderEvent) -> anyhow::Result<()> {
        let correlation = Uuid::now_v7();
        let metadata = EventMetadata::new(
            event.event_type(),
            "order-service",
            chrono::Utc::now(),
            correlation,
            correlation,
        );
        let headers = event_headers(&metadata, &opentelemetry::Context::new());
        self.producer
            .send_raw(
                &self.kafka.topic(OrderEvent::TOPIC),
                event.order_id().to_string().as_bytes(),
                &event.encode(),
                headers,
            )
            .await?;
        Ok(())
    }

    /// The first `count` dead letters, as `(key, headers)`.
    pub async fn dead_letters(&self, count: usize) -> anyhow::Result<Vec<Dead>> {
        read_dlq(&self.kafka, &self.group, count).await
    }

    /// The order's payment status, once it has one other than `new`.
    pub async fn status_of(&self, order: OrderId) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT status FROM payments WHERE order_id = $1 AND status <> 'new'",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn balance(&self, customer: &str) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE customer_id = $1")
                .bind(customer)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn ledger_lines(&self, order: OrderId) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM ledger WHERE order_id = $1")
                .bind(order.0)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Waits until the order's payment leaves `new`, for up to 30 s.
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

/// An `OrderCreated` for `c-rich` with these lines and this stated total.
pub fn order_created(order_id: OrderId, items: Vec<LineItem>, total_cents: i64) -> OrderEvent {
    OrderEvent::Created(contracts::events::OrderCreated {
        order_id,
        customer_id: "c-rich".into(),
        items,
        total_cents,
        currency: Currency::Eur,
    })
}
