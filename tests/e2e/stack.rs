//! A deployment of the three services in this process: fresh databases, a topic prefix
//! and consumer groups of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use messaging::KafkaConfig;
use serde_json::Value;
use service_kit::{ServiceConfig, Shutdown};
use test_support::TestDatabase;

pub struct Service {
    pub url: String,
    pub group: String,
    pub database: TestDatabase,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Topics and consumer groups of a deployment's own: groups for order, payment and
/// inventory, and a Kafka configuration whose prefix names its topics.
pub async fn isolated(label: &str) -> anyhow::Result<(KafkaConfig, [String; 3])> {
    let groups = ["order", "payment", "inventory"].map(test_support::unique_name);
    let kafka = test_support::isolated_kafka(
        label,
        &groups.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await?;
    Ok((kafka, groups))
}

impl Service {
    /// Serves and consumes `app` on a task of its own.
    fn run(app: service_kit::App, group: &str, database: TestDatabase) -> Self {
        Self {
            url: format!("http://{}", app.local_addr()),
            group: group.to_owned(),
            database,
            task: tokio::spawn(app.run()),
        }
    }

    /// False once the service's task has ended (a panic or a fatal error).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

pub struct Stack {
    pub kafka: KafkaConfig,
    pub order: Service,
    pub payment: Service,
    pub inventory: Service,
    shutdown: Shutdown,
}

fn config(
    kafka: &KafkaConfig,
    database: &TestDatabase,
    group: &str,
    publish_twice: bool,
) -> ServiceConfig {
    ServiceConfig {
        outbox_publish_twice: publish_twice,
        ..test_support::service_config(kafka, &database.url, group)
    }
}

impl Stack {
    /// Starts order, payment and inventory; `publish_twice` makes every relay produce
    /// each row twice, to prove the consumers' dedup under load.
    pub async fn start(
        label: &str,
        publish_twice: bool,
        deadline: Duration,
    ) -> anyhow::Result<Self> {
        let (kafka, groups) = isolated(label).await?;
        let shutdown = Shutdown::new();

        let database = TestDatabase::create(&format!("{label}_orders")).await?;
        let resolved =
            config(&kafka, &database, &groups[0], publish_twice).resolve(&order_service::SPEC);
        let settings = order_service::OrderSettings {
            saga_deadline: deadline,
            snapshot_every: 10,
            ..Default::default()
        };
        let app = order_service::build(resolved, settings, shutdown.clone()).await?;
        let order = Service::run(app, &groups[0], database);

        let database = TestDatabase::create(&format!("{label}_payments")).await?;
        let resolved =
            config(&kafka, &database, &groups[1], publish_twice).resolve(&payment_service::SPEC);
        let app = payment_service::build(resolved, shutdown.clone()).await?;
        let payment = Service::run(app, &groups[1], database);

        let database = TestDatabase::create(&format!("{label}_inventory")).await?;
        let resolved =
            config(&kafka, &database, &groups[2], publish_twice).resolve(&inventory_service::SPEC);
        let app = inventory_service::build(resolved, shutdown.clone()).await?;
        let inventory = Service::run(app, &groups[2], database);
        Ok(Self {
            kafka,
            order,
            payment,
            inventory,
            shutdown,
        })
    }

    /// Waits until every order in `orders` is terminal with its compensations done;
    /// returns how many ended each way (`confirmed`, `cancelled_<reason>`, ...).
    pub async fn await_terminal(
        &self,
        orders: &[&str],
        within: Duration,
    ) -> anyhow::Result<BTreeMap<String, usize>> {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let mut outcomes = BTreeMap::<String, usize>::new();
            let mut open = 0;
            for order in orders {
                let state: Value = client
                    .get(format!("{}/orders/{order}", self.order.url))
                    .send()
                    .await?
                    .json()
                    .await?;
                let status = state["status"].as_str().unwrap_or("?").to_owned();
                let complete = status != "cancelled"
                    || (state["compensation"]["payment"] != "pending"
                        && state["compensation"]["stock"] != "pending");
                if status == "pending" || !complete {
                    open += 1;
                }
                let outcome = match state["cancel_reason"].as_str() {
                    Some(reason) => format!("cancelled_{reason}"),
                    None => status,
                };
                *outcomes.entry(outcome).or_default() += 1;
            }
            if open == 0 {
                return Ok(outcomes);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{open} orders still open after {within:?}: {outcomes:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `sagactl verify` against this deployment: its databases, topics and groups.
    pub fn verify(&self) -> anyhow::Result<(bool, String)> {
        let exe = std::env::current_exe()?;
        let sagactl = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target/<profile>")
            .join("sagactl");
        anyhow::ensure!(sagactl.exists(), "{} is not built", sagactl.display());
        let output = std::process::Command::new(sagactl)
            .args([
                "--kafka",
                &self.kafka.bootstrap_servers,
                "--topic-prefix",
                &self.kafka.topic_prefix,
            ])
            .arg("verify")
            .args(["--orders-db", &self.order.database.url])
            .args(["--payments-db", &self.payment.database.url])
            .args(["--inventory-db", &self.inventory.database.url])
            .args(["--order-group", &self.order.group])
            .args(["--payment-group", &self.payment.group])
            .args(["--inventory-group", &self.inventory.group])
            .args(["--settle", "60"])
            .output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok((output.status.success(), text))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        for service in [self.order, self.payment, self.inventory] {
            tokio::time::timeout(Duration::from_secs(30), service.task).await???;
            service.database.drop_database().await?;
        }
        Ok(())
    }
}
