//! Each service starts against the real infrastructure, migrates, serves its
//! operational endpoints, and stops cleanly: in process through its factory, and as a
//! real binary on SIGTERM.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use saga_tests::eventually;
use service_kit::config::Resolved;
use service_kit::{App, ServiceConfig, ServiceSpec, Shutdown};
use test_support::TestDatabase;

fn config_for(spec: &ServiceSpec, database_url: &str) -> Resolved {
    let kafka =
        test_support::kafka().with_topic_prefix(format!("{}.", test_support::unique_name("smoke")));
    // A group and topics of its own: never a member of a running stack's groups.
    let config = ServiceConfig {
        database_max_connections: 4,
        ..test_support::service_config(&kafka, database_url, &test_support::unique_name(spec.name))
    };
    config.resolve(spec)
}

async fn get(url: &str) -> anyhow::Result<(u16, String)> {
    let response = reqwest::get(url).await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// Builds one service through its factory, probes it, shuts it down.
async fn serves_and_stops<F, Fut>(spec: &ServiceSpec, build: F) -> anyhow::Result<()>
where
    F: FnOnce(Resolved, Shutdown) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<App>>,
{
    let database = TestDatabase::create(&spec.database.replace('-', "_")).await?;
    let shutdown = Shutdown::new();
    let app = build(config_for(spec, &database.url), shutdown.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    let running = tokio::spawn(app.run());

    let (status, body) = get(&format!("{base}/healthz")).await?;
    assert_eq!(status, 200, "{body}");

    let (status, body) = get(&format!("{base}/readyz")).await?;
    assert_eq!(status, 200, "{} not ready: {body}", spec.name);
    let checks: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(checks["checks"]["postgres"], "ok");
    assert_eq!(checks["checks"]["kafka"], "ok");

    let (status, body) = get(&format!("{base}/openapi.json")).await?;
    assert_eq!(status, 200);
    let document: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(
        document["info"]["title"], spec.name,
        "the document is the service's own"
    );
    assert!(document["paths"]["/readyz"].is_object());
    // Current: every documented operation is served (a path no route serves answers
    // "no such route"; a served one answers, at worst, its own JSON error).
    let client = reqwest::Client::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{id}", "00000000-0000-0000-0000-000000000000")
            .replace("{order_id}", "00000000-0000-0000-0000-000000000000")
            .replace("{customer_id}", "c-rich")
            .replace("{sku}", "sku-widget");
        for method in operations.as_object().expect("operations").keys() {
            let request = match method.as_str() {
                "get" => client.get(format!("{base}{concrete}")),
                "post" => client
                    .post(format!("{base}{concrete}"))
                    .json(&serde_json::json!({})),
                other => panic!("{other} {path} is documented; the test knows get and post"),
            };
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            assert!(
                status != 404 || !body.contains("no such route"),
                "{method} {path} is documented but not served"
            );
            assert_ne!(
                status, 405,
                "{method} {path} is documented with the wrong method"
            );
        }
    }

    // Refusals the router makes itself are JSON like the handlers' own.
    let (status, body) = get(&format!("{base}/no/such/route")).await?;
    assert_eq!(
        (status, body.contains("no such route")),
        (404, true),
        "{body}"
    );
    let response = client.delete(format!("{base}/healthz")).send().await?;
    let status = response.status().as_u16();
    let refusal: serde_json::Value = response.json().await?;
    assert_eq!(status, 405);
    assert!(refusal["error"].is_string(), "{refusal}");

    let (status, body) = get(&format!("{base}/metrics")).await?;
    assert_eq!(status, 200);
    assert!(body.contains("saga_build_info"), "metrics: {body}");
    let gauges = saga_tests::eventually(
        Duration::from_secs(15),
        Duration::from_millis(250),
        || async {
            let (_, body) = get(&format!("{base}/metrics")).await?;
            Ok(body.contains("outbox_backlog").then_some(body))
        },
    )
    .await?;
    assert!(gauges.contains("outbox_parked_rows"), "metrics: {gauges}");

    let pool = sqlx::PgPool::connect(&database.url).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    assert!(
        tables.contains(&"outbox".to_owned()) && tables.contains(&"processed_messages".to_owned()),
        "{tables:?}"
    );

    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(15), running).await???;
    eprintln!(
        "{}: migrated {}, ready, stopped cleanly",
        spec.name, database.name
    );
    database.drop_database().await
}

#[tokio::test]
async fn order_service_starts_serves_and_stops() -> anyhow::Result<()> {
    serves_and_stops(&order_service::SPEC, |config, shutdown| {
        order_service::build(config, order_service::OrderSettings::default(), shutdown)
    })
    .await
}

#[tokio::test]
async fn payment_service_starts_serves_and_stops() -> anyhow::Result<()> {
    serves_and_stops(&payment_service::SPEC, payment_service::build).await
}

#[tokio::test]
async fn inventory_service_starts_serves_and_stops() -> anyhow::Result<()> {
    serves_and_stops(&inventory_service::SPEC, inventory_service::build).await
}

/// The binaries sit next to the test's own `deps/` folder in the target directory.
pub(crate) fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it runs from");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps")
        .join(name)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[tokio::test]
async fn a_service_binary_reads_its_environment_and_exits_cleanly_on_sigterm() -> anyhow::Result<()>
{
    let database = TestDatabase::create("sigterm").await?;
    let port = free_port();
    let path = binary("payment-service");
    assert!(
        path.exists(),
        "{} is not built (cargo build --workspace)",
        path.display()
    );
    let child = Command::new(&path)
        .env_clear()
        .env("DATABASE_URL", &database.url)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "KAFKA_BOOTSTRAP_SERVERS",
            test_support::kafka_bootstrap_servers(),
        )
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", test_support::otlp_endpoint())
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut child = KillOnDrop(child);

    let ready = format!("http://127.0.0.1:{port}/readyz");
    eventually(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async { Ok(get(&ready).await.ok().filter(|(status, _)| *status == 200)) },
    )
    .await?;

    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status()?;
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = child.0.wait();
        (status, child)
    });
    let (status, mut child) = tokio::time::timeout(Duration::from_secs(20), status).await??;
    let status = status?;
    let mut logs = String::new();
    if let Some(stderr) = child.0.stderr.as_mut() {
        std::io::Read::read_to_string(stderr, &mut logs)?;
    }
    assert!(status.success(), "exit {status}; logs:\n{logs}");
    assert!(logs.contains("SIGTERM"), "the shutdown is logged: {logs}");
    assert!(
        logs.contains("\"Stopped.\""),
        "the service reports it stopped: {logs}"
    );
    eprintln!("payment-service binary: ready on port {port}, exited 0 on SIGTERM");
    database.drop_database().await
}

#[tokio::test]
async fn readiness_fails_while_postgres_is_unreachable_and_recovers() -> anyhow::Result<()> {
    let database = TestDatabase::create("readyz").await?;
    let proxy = test_support::proxy::TcpProxy::start(test_support::postgres_addr()).await?;
    let spec = &inventory_service::SPEC;
    let shutdown = Shutdown::new();
    let app = inventory_service::build(
        config_for(spec, &database.url_via(proxy.addr())),
        shutdown.clone(),
    )
    .await?;
    let ready = format!("http://{}/readyz", app.local_addr());
    let running = tokio::spawn(app.run());
    assert_eq!(get(&ready).await?.0, 200);

    proxy.cut();
    let (status, body) = get(&ready).await?;
    assert_eq!(status, 503, "{body}");
    let checks: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(checks["checks"]["kafka"], "ok");
    assert_ne!(checks["checks"]["postgres"], "ok");

    proxy.restore();
    eventually(
        Duration::from_secs(20),
        Duration::from_millis(250),
        || async { Ok((get(&ready).await?.0 == 200).then_some(())) },
    )
    .await?;
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(15), running).await???;
    database.drop_database().await
}
