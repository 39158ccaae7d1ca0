//! A span exported through the workspace's telemetry pipeline shows up in Jaeger.

use std::time::Duration;

use saga_tests::eventually;
use serde_json::Value;
use telemetry::TelemetryConfig;

#[tokio::test]
async fn a_span_exported_over_otlp_appears_in_jaegers_query_api() -> anyhow::Result<()> {
    // A service name of its own, so the query finds this run's span and nothing else.
    let service = test_support::unique_name("smoke-telemetry");
    let config = TelemetryConfig {
        otlp_endpoint: Some(test_support::otlp_endpoint()),
        ..TelemetryConfig::new(service.clone())
    };
    let guard = telemetry::init(&config)?;
    {
        let span = tracing::info_span!("smoke.span", smoke.marker = "exported");
        let _entered = span.enter();
        tracing::info!("inside the smoke span");
    }
    tokio::task::spawn_blocking(move || guard.shutdown()).await?;

    let url = format!(
        "{}/api/traces?service={service}&limit=5",
        test_support::jaeger_query_url()
    );
    let client = reqwest::Client::new();
    let span = eventually(
        Duration::from_secs(30),
        Duration::from_millis(500),
        || async {
            let body: Value = client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let found = body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|trace| trace["spans"].as_array().into_iter().flatten())
                .find(|span| span["operationName"] == "smoke.span")
                .cloned();
            Ok(found)
        },
    )
    .await?;

    let marker = span["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|tag| tag["key"] == "smoke.marker")
        .map(|tag| tag["value"].clone());
    assert_eq!(marker, Some(Value::from("exported")));
    eprintln!(
        "jaeger: span smoke.span of service {service} found in trace {} at {}",
        span["traceID"].as_str().unwrap_or("?"),
        test_support::jaeger_query_url()
    );
    Ok(())
}
