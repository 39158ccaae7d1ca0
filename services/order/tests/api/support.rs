use std::time::Duration;

use order_service::OrderSettings;
use order_service::app::{Clock, OrderService};
use outbox::Wakeup;
use serde_json::{Value, json};
use service_kit::Shutdown;
use sqlx::PgPool;
use test_support::TestDatabase;

/// An order service of its own: fresh database, its own consumer group, port 0.
pub struct TestApp {
    pub base: String,
    /// The app's own topics (a unique prefix) and consumer group.
    pub kafka: messaging::KafkaConfig,
    pub shutdown: Shutdown,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub pool: PgPool,
}

pub fn settings(deadline: Duration) -> OrderSettings {
    OrderSettings {
        saga_deadline: deadline,
        snapshot_every: 2,
        clock: Clock::system(),
        ..OrderSettings::default()
    }
}

pub async fn start(database: &TestDatabase, settings: OrderSettings) -> anyhow::Result<TestApp> {
    start_with(database, settings, |_| {}).await
}

/// [`start`], with `configure` changing the service's settings first.
pub async fn start_with(
    database: &TestDatabase,
    settings: OrderSettings,
    configure: impl FnOnce(&mut service_kit::ServiceConfig),
) -> anyhow::Result<TestApp> {
    let group = test_support::unique_name("order-test");
    let kafka = test_support::isolated_kafka("order-test", &[&group]).await?;
    let mut config = test_support::service_config(&kafka, &database.url, &group);
    configure(&mut config);
    let scheme = match config.http_tls_cert_file {
        Some(_) => "https",
        None => "http",
    };
    let config = config.resolve(&order_service::SPEC);
    let shutdown = Shutdown::new();
    let app = order_service::build(config, settings, shutdown.clone()).await?;
    let base = format!("{scheme}://{}", app.local_addr());
    let pool = app.parts().pool.clone();
    let task = tokio::spawn(app.run());
    Ok(TestApp {
        base,
        kafka,
        shutdown,
        task,
        pool,
    })
}

impl TestApp {
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.task).await???;
        Ok(())
    }

    pub fn service(&self, deadline: Duration) -> OrderService {
        OrderService {
            pool: self.pool.clone(),
            wakeup: Wakeup::new(),
            saga_deadline: deadline,
            snapshot_every: 2,
            clock: Clock::system(),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.post_raw(
            path,
            body.to_string().into_bytes(),
            "application/json",
            None,
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
        key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = reqwest::get(format!("{}{path}", self.base)).await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get_text(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let response = reqwest::get(format!("{}{path}", self.base)).await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// Creates a valid order and returns its id.
    pub async fn create_order(&self) -> anyhow::Result<String> {
        let (status, body) = self.post("/orders", &valid_order()).await?;
        anyhow::ensure!(status == 202, "create: {status} {body}");
        Ok(body["order_id"].as_str().unwrap().to_owned())
    }
}

pub fn valid_order() -> Value {
    json!({
        "customer_id": "c-rich",
        "items": [{"sku": "sku-widget", "quantity": 2, "unit_price_cents": 1299}],
        "currency": "EUR"
    })
}
