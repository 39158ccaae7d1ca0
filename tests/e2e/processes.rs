//! The three service binaries as separate processes, on topics, groups and databases of
//! their own, exporting spans to the real Jaeger under their real service names.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use messaging::KafkaConfig;
use test_support::TestDatabase;

pub struct Process {
    pub url: String,
    pub database: TestDatabase,
    child: Child,
}

pub struct ProcessStack {
    pub kafka: KafkaConfig,
    pub groups: [String; 3],
    pub order: Process,
    pub payment: Process,
    pub inventory: Process,
}

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it runs from");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps")
        .join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn spawn(
    service: &str,
    label: &str,
    kafka: &KafkaConfig,
    group: &str,
) -> anyhow::Result<Process> {
    let database = TestDatabase::create(&format!("{label}_{}", service.replace('-', "_"))).await?;
    let port = free_port();
    let path = binary(service);
    anyhow::ensure!(path.exists(), "{} is not built", path.display());
    let log = std::fs::File::create(std::env::temp_dir().join(format!("{group}.log")))?;
    let child = Command::new(path)
        .env_clear()
        .env("KAFKA_BOOTSTRAP_SERVERS", &kafka.bootstrap_servers)
        .env("KAFKA_TOPIC_PREFIX", &kafka.topic_prefix)
        .env("KAFKA_GROUP_ID", group)
        .env("DATABASE_URL", &database.url)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", test_support::otlp_endpoint())
        .env("OTEL_SERVICE_NAME", service)
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut process = Process {
        url,
        database,
        child,
    };
    for _ in 0..150 {
        if reqwest::get(format!("{}/readyz", process.url))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok(process);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = process.child.kill();
    anyhow::bail!("{service} did not become ready")
}

impl ProcessStack {
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        let (kafka, groups) = crate::stack::isolated(label).await?;
        Ok(Self {
            order: spawn("order-service", label, &kafka, &groups[0]).await?,
            payment: spawn("payment-service", label, &kafka, &groups[1]).await?,
            inventory: spawn("inventory-service", label, &kafka, &groups[2]).await?,
            kafka,
            groups,
        })
    }

    /// SIGTERM to each (they flush their spans), then drop the databases.
    pub async fn stop(self) -> anyhow::Result<()> {
        for mut process in [self.order, self.payment, self.inventory] {
            let _ = Command::new("kill")
                .args(["-TERM", &process.child.id().to_string()])
                .status();
            let status = tokio::task::spawn_blocking(move || {
                let status = process.child.wait();
                (status, process)
            });
            let (status, process) = tokio::time::timeout(Duration::from_secs(30), status).await??;
            anyhow::ensure!(status?.success(), "a service did not exit cleanly");
            process.database.drop_database().await?;
        }
        Ok(())
    }
}
