#![allow(dead_code)] // Shared with the restart suite, which uses only part of it.
//! A test handler with a state row per order and a counted effect, and a fixture that
//! gives each test its own database, topic and consumer group (with `.retry`/`.dlq`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts::events::{OrderCreated, TopicEvent};
use contracts::{Currency, EventMetadata, LineItem, OrderEvent, OrderId};
use messaging::consumer::{
    ConsumerConfig, ConsumerFailed, ConsumerHealth, ConsumerRuntime, Envelope, Handler, Outcome,
};
use messaging::error::HandlerError;
use messaging::headers::event_headers;
use messaging::{Delivered, EventProducer};
use rdkafka::message::OwnedHeaders;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};
use test_support::TestDatabase;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub enum Fail {
    Always,
    Times(u32),
}

/// Handles `order.created`: one effect row per application, failures on demand.
#[derive(Debug)]
pub struct TestHandler {
    failing: Mutex<HashMap<OrderId, Fail>>,
    attempts: Mutex<HashMap<OrderId, u32>>,
    failures: mpsc::UnboundedSender<(OrderId, u32)>,
}

impl TestHandler {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<(OrderId, u32)>) {
        let (failures, received) = mpsc::unbounded_channel();
        let handler = Self {
            failing: Mutex::default(),
            attempts: Mutex::default(),
            failures,
        };
        (Arc::new(handler), received)
    }

    pub fn fail(&self, order: OrderId, how: Fail) {
        self.failing.lock().unwrap().insert(order, how);
    }

    pub fn fix(&self, order: OrderId) {
        self.failing.lock().unwrap().remove(&order);
    }

    pub fn attempts(&self, order: OrderId) -> u32 {
        self.attempts
            .lock()
            .unwrap()
            .get(&order)
            .copied()
            .unwrap_or(0)
    }
}

impl Handler for TestHandler {
    fn handles(&self, name: &str) -> bool {
        name == "order.created"
    }

    fn state_table(&self) -> &'static str {
        "test_state"
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, HandlerError> {
        let order = envelope.order_id();
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(order).or_default();
            *n += 1;
            *n
        };
        let fails = match self.failing.lock().unwrap().get(&order) {
            Some(Fail::Always) => true,
            Some(Fail::Times(n)) => attempt <= *n,
            None => false,
        };
        if fails {
            let _ = self.failures.send((order, attempt));
            return Err(HandlerError::Rejected(format!(
                "told to fail on attempt {attempt}"
            )));
        }
        sqlx::query("INSERT INTO test_effects (event_id, order_id) VALUES ($1, $2)")
            .bind(envelope.metadata.event_id)
            .bind(order.0)
            .execute(&mut *tx)
            .await?;
        Ok(Outcome::Applied)
    }
}

pub struct Fixture {
    pub database: TestDatabase,
    pub pool: PgPool,
    pub topic: String,
    pub group: String,
    pub producer: EventProducer,
}

impl Fixture {
    pub async fn new(label: &str, partitions: i32) -> anyhow::Result<Self> {
        let database = TestDatabase::create(label).await?;
        // A short acquire timeout, as the services have: an outage surfaces as an error
        // the runtime classifies, instead of a 30-second wait inside the pool.
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(3))
            .connect(&database.url)
            .await?;
        messaging::schema::migrator().run(&pool).await?;
        sqlx::raw_sql(
            "CREATE TABLE test_state (order_id uuid PRIMARY KEY, status text NOT NULL DEFAULT 'new');
             CREATE TABLE test_effects (event_id uuid NOT NULL, order_id uuid NOT NULL);",
        )
        .execute(&pool)
        .await?;
        let topic = test_support::create_topic(label, partitions).await?;
        let group = test_support::unique_name(label);
        test_support::create_group_topics(&group).await?;
        Ok(Self {
            database,
            pool,
            topic,
            group,
            producer: EventProducer::new(&test_support::kafka())?,
        })
    }

    pub fn config(&self) -> ConsumerConfig {
        ConsumerConfig {
            handler_backoff: Duration::from_millis(100),
            ..ConsumerConfig::new(self.group.clone(), &[self.topic.as_str()])
        }
    }

    /// Starts a consumer; it stops when the returned sender is dropped or sent `true`.
    pub fn start(
        &self,
        config: ConsumerConfig,
        handler: Arc<TestHandler>,
    ) -> anyhow::Result<Running> {
        self.start_with_pool(config, handler, self.pool.clone())
    }

    /// Like [`Fixture::start`], with the consumer on `pool` (say, through a proxy).
    pub fn start_with_pool<H: Handler>(
        &self,
        config: ConsumerConfig,
        handler: Arc<H>,
        pool: PgPool,
    ) -> anyhow::Result<Running> {
        let runtime = ConsumerRuntime::new(
            &test_support::kafka(),
            config,
            handler,
            pool,
            self.producer.clone(),
        )?;
        let health = runtime.health();
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(runtime.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Ok(Running { stop, task, health })
    }

    /// Sends an `order.created` for `order` with a fresh event id; returns its metadata.
    pub async fn send_created(&self, order: OrderId) -> anyhow::Result<EventMetadata> {
        let event = order_created(order);
        let metadata = metadata_for(&event);
        self.send(
            &event.encode(),
            &order.to_string(),
            event_headers(&metadata, &opentelemetry::Context::new()),
        )
        .await?;
        Ok(metadata)
    }

    pub async fn send(
        &self,
        body: &[u8],
        key: &str,
        headers: OwnedHeaders,
    ) -> anyhow::Result<Delivered> {
        Ok(self
            .producer
            .send_raw(&self.topic, key.as_bytes(), body, headers)
            .await?)
    }

    pub async fn effects(&self, order: OrderId) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM test_effects WHERE order_id = $1")
                .bind(order.0)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn total_effects(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM test_effects")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.database.drop_database().await
    }
}

pub struct Running {
    pub stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<Result<(), ConsumerFailed>>,
    pub health: ConsumerHealth,
}

impl Running {
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.send(true)?;
        tokio::time::timeout(Duration::from_secs(20), self.task).await???;
        Ok(())
    }
}

/// Sends an `order.created` for `order` to `topic`.
pub async fn send_created_with(
    producer: &EventProducer,
    topic: &str,
    order: OrderId,
) -> anyhow::Result<()> {
    let event = order_created(order);
    let headers = event_headers(&metadata_for(&event), &opentelemetry::Context::new());
    producer
        .send_raw(
            topic,
            order.to_string().as_bytes(),
            &event.encode(),
            headers,
        )
        .await?;
    Ok(())
}

pub fn order_created(order: OrderId) -> OrderEvent {
    OrderEvent::Created(OrderCreated {
        order_id: order,
        customer_id: "c-rich".to_owned(),
        items: vec![LineItem {
            sku: "sku-widget".to_owned(),
            quantity: 1,
            unit_price_cents: 100,
        }],
        total_cents: 100,
        currency: Currency::Eur,
    })
}

pub fn metadata_for(event: &OrderEvent) -> EventMetadata {
    let correlation = Uuid::now_v7();
    EventMetadata::new(
        event.event_type(),
        "order-service",
        chrono::Utc::now(),
        correlation,
        correlation,
    )
}

/// Polls `probe` until true, for up to `seconds`.
pub async fn until(
    seconds: u64,
    what: &str,
    mut probe: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if probe().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{what}: not within {seconds}s")
}
