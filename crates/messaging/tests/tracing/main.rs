//! A consumer's span joins the producer's trace, directly and through the outbox,
//! checked in the real Jaeger. Its own binary: it installs the global subscriber.

#[path = "../consumer/support.rs"]
mod support;

use std::time::Duration;

use contracts::OrderId;
use opentelemetry::trace::TraceContextExt;
use outbox::{OutboxRecord, Relay, RelayConfig, RelayStep, Wakeup, enqueue};
use serde_json::Value;
use telemetry::TelemetryConfig;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use support::{Fixture, TestHandler, metadata_for, order_created, until};

async fn jaeger_trace(trace_id: &str) -> anyhow::Result<Vec<Value>> {
    let url = format!("{}/api/traces/{trace_id}", test_support::jaeger_query_url());
    let body: Value = reqwest::get(&url).await?.json().await?;
    Ok(body["data"][0]["spans"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn parent_of(span: &Value) -> Option<String> {
    span["references"]
        .as_array()?
        .iter()
        .find(|r| r["refType"] == "CHILD_OF")
        .and_then(|r| r["spanID"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
async fn the_consumer_span_joins_the_producer_trace_through_the_outbox() -> anyhow::Result<()> {
    let service = test_support::unique_name("tracing-test");
    let guard = telemetry::init(&TelemetryConfig {
        otlp_endpoint: Some(test_support::otlp_endpoint()),
        ..TelemetryConfig::new(service.clone())
    })?;
    let fixture = Fixture::new("tracing_outbox", 1).await?;
    let (handler, _) = TestHandler::new();
    let running = fixture.start(fixture.config(), handler)?;

    // The "request" that writes an event into the outbox.
    let order = OrderId::new();
    let request = tracing::info_span!("test.request");
    let trace_id = request
        .context()
        .span()
        .span_context()
        .trace_id()
        .to_string();
    async {
        let event = order_created(order);
        let cx = tracing::Span::current().context();
        let mut record = OutboxRecord::for_event(&event, &metadata_for(&event), &cx);
        record.topic = fixture.topic.clone();
        let mut tx = fixture.pool.begin().await?;
        enqueue(&mut tx, &record).await?;
        tx.commit().await?;
        anyhow::Ok(())
    }
    .instrument(request)
    .await?;

    let mut relay = Relay::new(
        &fixture.database.url,
        fixture.producer.clone(),
        Wakeup::new(),
        RelayConfig::default(),
    );
    assert!(matches!(
        relay.relay_once().await?,
        RelayStep::Published { rows: 1, .. }
    ));
    until(30, "the event is handled", async || {
        Ok(fixture.effects(order).await? == 1)
    })
    .await?;
    running.stop().await?;
    tokio::task::spawn_blocking(move || guard.shutdown()).await?;

    let topic = fixture.topic.clone();
    let mut spans = Vec::new();
    for _ in 0..60 {
        spans = jaeger_trace(&trace_id).await?;
        let named = |name: &str| spans.iter().any(|s| s["operationName"] == name);
        if named("process order.created") && named("COMMIT") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s["operationName"] == name)
            .unwrap_or_else(|| panic!("no span {name} in trace {trace_id}: {spans:#?}"))
    };
    // Named by the event, after the messaging conventions' `{operation} {target}`.
    let request = find("test.request");
    let publish = find("send order.created");
    let process = find("process order.created");
    for span in [request, publish, process] {
        assert_eq!(span["traceID"], trace_id.as_str());
    }
    assert_eq!(
        parent_of(publish).as_deref(),
        request["spanID"].as_str(),
        "publish is a child of the request"
    );
    assert_eq!(
        parent_of(process).as_deref(),
        publish["spanID"].as_str(),
        "process is a child of publish"
    );
    let tag = |span: &Value, key: &str| {
        span["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["key"] == key)
            .map(|t| t["value"].clone())
    };
    assert_eq!(tag(process, "messaging.system"), Some(Value::from("kafka")));
    for span in [publish, process] {
        assert_eq!(
            tag(span, "messaging.destination.name"),
            Some(Value::from(topic.clone()))
        );
        assert_eq!(
            tag(span, "cloudevents.event_type"),
            Some(Value::from("order.created.v1"))
        );
    }
    assert_eq!(
        tag(process, "messaging.operation.type"),
        Some(Value::from("process"))
    );
    assert_eq!(
        tag(publish, "messaging.operation.type"),
        Some(Value::from("send"))
    );
    // The message's transaction, in database spans under its process span.
    let under_process: Vec<&str> = spans
        .iter()
        .filter(|s| parent_of(s).as_deref() == process["spanID"].as_str())
        .filter(|s| tag(s, "db.system.name") == Some(Value::from("postgresql")))
        .filter_map(|s| s["operationName"].as_str())
        .collect();
    assert!(under_process.contains(&"COMMIT"), "{under_process:?}");
    assert!(
        under_process
            .iter()
            .any(|name| name.ends_with("INSERT processed_messages")),
        "{under_process:?}"
    );
    assert_eq!(
        tag(process, "messaging.consumer.group.name"),
        Some(Value::from(fixture.group.clone()))
    );
    assert_eq!(
        tag(process, "order.id"),
        Some(Value::from(order.to_string()))
    );
    assert!(tag(process, "saga.correlation_id").is_some());
    eprintln!("tracing: request → send → process (with {under_process:?}) in trace {trace_id}");
    fixture.finish().await
}
