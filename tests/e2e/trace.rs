//! One saga, one trace: the out-of-stock and the customer-cancel sagas, run through the
//! three service processes, are each exactly one trace in Jaeger with spans from all
//! three services, their compensations included, every parent link intact.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::processes::ProcessStack;

async fn wait_for(
    stack: &ProcessStack,
    order: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    for _ in 0..300 {
        let state: Value = reqwest::get(format!("{}/orders/{order}", stack.order.url))
            .await?
            .json()
            .await?;
        if done(&state) {
            return Ok(state);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("order {order} did not get there")
}

/// The trace's spans as (span id, parent id, service, operation, tags), once `until`
/// holds for them and Jaeger has the parent of every span: each service exports on its
/// own schedule, so a consume span can arrive before the publish span it is a child of.
async fn trace_spans(
    trace_id: &str,
    until: impl Fn(&[(String, Option<String>, String, String, Value)]) -> bool,
) -> anyhow::Result<Vec<(String, Option<String>, String, String, Value)>> {
    let url = format!("{}/api/traces/{trace_id}", test_support::jaeger_query_url());
    let mut spans = Vec::new();
    for _ in 0..60 {
        let body: Value = reqwest::get(&url).await?.json().await?;
        if let Some(trace) = body["data"].get(0) {
            let services: HashMap<String, String> = trace["processes"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, p)| {
                    (
                        k.clone(),
                        p["serviceName"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            spans = trace["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let parent = s["references"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|r| r["refType"] == "CHILD_OF")
                        .and_then(|r| r["spanID"].as_str())
                        .map(str::to_owned);
                    let service = services
                        .get(s["processID"].as_str().unwrap_or_default())
                        .cloned()
                        .unwrap_or_default();
                    let tags: serde_json::Map<String, Value> = s["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| Some((t["key"].as_str()?.to_owned(), t["value"].clone())))
                        .collect();
                    (
                        s["spanID"].as_str().unwrap_or_default().to_owned(),
                        parent,
                        service,
                        s["operationName"].as_str().unwrap_or_default().to_owned(),
                        Value::Object(tags),
                    )
                })
                .collect();
            if until(&spans) && parents_present(&spans) {
                return Ok(spans);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("trace {trace_id} never got complete: {spans:#?}")
}

fn handled(
    spans: &[(String, Option<String>, String, String, Value)],
    service: &str,
    event_type: &str,
) -> bool {
    spans.iter().any(|(_, _, s, op, tags)| {
        s == service && op.starts_with("process ") && tags["cloudevents.event_type"] == event_type
    })
}

/// Whether every span's parent is among the spans.
fn parents_present(spans: &[(String, Option<String>, String, String, Value)]) -> bool {
    let ids: HashSet<&str> = spans.iter().map(|(id, ..)| id.as_str()).collect();
    spans
        .iter()
        .all(|(_, parent, ..)| parent.as_deref().is_none_or(|p| ids.contains(p)))
}

/// Every span but the root has its parent in the trace: no hop broke it.
fn assert_links_intact(spans: &[(String, Option<String>, String, String, Value)]) {
    let ids: HashSet<&str> = spans.iter().map(|(id, ..)| id.as_str()).collect();
    let roots: Vec<_> = spans
        .iter()
        .filter(|(_, parent, ..)| parent.is_none())
        .collect();
    assert_eq!(roots.len(), 1, "one root: {roots:#?}");
    for (id, parent, service, operation, _) in spans {
        if let Some(parent) = parent {
            assert!(
                ids.contains(parent.as_str()),
                "{service} {operation} ({id}) has a parent outside the trace"
            );
        }
    }
    let services: HashSet<&str> = spans.iter().map(|(_, _, s, ..)| s.as_str()).collect();
    for service in ["order-service", "payment-service", "inventory-service"] {
        assert!(services.contains(service), "no span from {service}");
    }
}

/// Only one trace carries the saga's work on this order, whichever service is asked.
/// A request that acted on the order (a cancel, a ship) is a trace of its own with one
/// server span, which names the order too: it is not saga work.
async fn only_trace(order: &str, trace_id: &str) -> anyhow::Result<()> {
    for service in ["order-service", "payment-service", "inventory-service"] {
        let tags = json!({"order.id": order}).to_string();
        let url = format!("{}/api/traces", test_support::jaeger_query_url());
        let body: Value = reqwest::Client::new()
            .get(&url)
            .query(&[
                ("service", service),
                ("tags", tags.as_str()),
                ("limit", "20"),
            ])
            .send()
            .await?
            .json()
            .await?;
        let request_only = |trace: &Value| {
            trace["spans"].as_array().into_iter().flatten().all(|span| {
                span["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["key"] == "span.kind" && t["value"] == "server")
            })
        };
        let ids: HashSet<&str> = body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| !request_only(t))
            .filter_map(|t| t["traceID"].as_str())
            .collect();
        assert_eq!(
            ids,
            HashSet::from([trace_id]),
            "{service} has spans of order {order} in other traces"
        );
    }
    Ok(())
}

/// Attributes tracing-opentelemetry adds by default that say nothing to a reader.
const NOISE: [&str; 10] = [
    "busy_ns",
    "idle_ns",
    "thread.id",
    "thread.name",
    "code.file.path",
    "code.line.number",
    "code.module.name",
    "code.filepath",
    "code.namespace",
    "target",
];

/// What a person sees of the trace in Jaeger's UI (its `/api/traces`, with Jaeger's
/// adjusters): no span carries a warning (the clock-skew warnings of consumer spans
/// that start after their producer span ended), none carries tracing-internal noise,
/// status codes are numbers, every process names its host and instance, and Jaeger
/// itself is not among the services.
async fn assert_readable(trace_id: &str) -> anyhow::Result<()> {
    let jaeger = test_support::jaeger_query_url();
    let body: Value = reqwest::get(format!("{jaeger}/api/traces/{trace_id}"))
        .await?
        .json()
        .await?;
    let trace = &body["data"][0];
    for span in trace["spans"].as_array().into_iter().flatten() {
        let name = span["operationName"].as_str().unwrap_or_default();
        let warnings = span["warnings"].as_array().map_or(0, Vec::len);
        assert_eq!(warnings, 0, "{name}: {}", span["warnings"]);
        for tag in span["tags"].as_array().into_iter().flatten() {
            let key = tag["key"].as_str().unwrap_or_default();
            assert!(!NOISE.contains(&key), "{name} carries {key}");
            if key == "http.response.status_code" {
                assert_eq!(tag["type"], "int64", "{name}: {tag}");
            }
        }
    }
    for (id, process) in trace["processes"].as_object().into_iter().flatten() {
        let keys: Vec<&str> = process["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["key"].as_str())
            .collect();
        for key in ["host.name", "service.instance.id", "ip"] {
            assert!(keys.contains(&key), "process {id} lacks {key}: {keys:?}");
        }
    }
    let services: Value = reqwest::get(format!("{jaeger}/api/services"))
        .await?
        .json()
        .await?;
    let services = services["data"].as_array().cloned().unwrap_or_default();
    assert!(
        !services.iter().any(|s| s == "jaeger"),
        "Jaeger traces itself: {services:?}"
    );
    Ok(())
}

/// The request that acted on `order` (`POST /orders/{id}/cancel`, say), found as
/// a person finds it in Jaeger's search: by the order's id. It carries the saga's
/// correlation id and links to the saga's trace.
async fn assert_request_found(
    order: &str,
    operation: &str,
    saga_trace: &str,
) -> anyhow::Result<()> {
    let jaeger = test_support::jaeger_query_url();
    let tags = json!({ "order.id": order }).to_string();
    let mut found = Value::Null;
    for _ in 0..60 {
        let body: Value = reqwest::Client::new()
            .get(format!("{jaeger}/api/traces"))
            .query(&[
                ("service", "order-service"),
                ("operation", operation),
                ("tags", tags.as_str()),
                ("lookback", "1h"),
                ("limit", "20"),
            ])
            .send()
            .await?
            .json()
            .await?;
        found = body["data"][0]["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["operationName"] == operation)
            .cloned()
            .unwrap_or(Value::Null);
        if !found.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!found.is_null(), "no {operation} found by order.id {order}");
    let tag = |key: &str| {
        found["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["key"] == key)
            .map(|t| t["value"].clone())
    };
    assert!(tag("saga.correlation_id").is_some(), "{found}");
    let linked = found["references"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["traceID"] == saga_trace);
    assert!(
        linked,
        "{operation} does not link to the saga's trace: {found}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_out_of_stock_and_customer_cancel_sagas_are_each_one_trace() -> anyhow::Result<()> {
    let stack = ProcessStack::start("e2e_trace").await?;
    let client = reqwest::Client::new();
    let create = |sku: &str| json!({"customer_id": "c-rich", "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 700}], "currency": "EUR"});

    // Out of stock: charged, refused, cancelled, refunded.
    let created: Value = client
        .post(format!("{}/orders", stack.order.url))
        .json(&create("sku-soldout"))
        .send()
        .await?
        .json()
        .await?;
    let order = created["order_id"].as_str().unwrap().to_owned();
    let state = wait_for(&stack, &order, |s| {
        s["compensation"]["payment"] == "refunded" && s["compensation"]["stock"] == "nothing_held"
    })
    .await?;
    let trace_id = state["trace_id"]
        .as_str()
        .expect("the order knows its trace")
        .to_owned();
    let spans = trace_spans(&trace_id, |spans| {
        handled(spans, "payment-service", "order.cancelled.v1")
            && handled(spans, "order-service", "payment.refunded.v1")
            && handled(spans, "order-service", "stock.released.v1")
            && handled(spans, "inventory-service", "payment.completed.v1")
            && handled(spans, "payment-service", "order.created.v1")
    })
    .await?;
    assert!(handled(&spans, "inventory-service", "payment.completed.v1"));
    assert!(handled(&spans, "payment-service", "order.created.v1"));
    assert_links_intact(&spans);
    assert_readable(&trace_id).await?;
    only_trace(&order, &trace_id).await?;
    eprintln!(
        "trace: out-of-stock saga {order} is trace {trace_id} with {} spans",
        spans.len()
    );

    // Customer cancel after confirmation: the cancel joins the saga's trace, with the
    // refund and the release.
    let created: Value = client
        .post(format!("{}/orders", stack.order.url))
        .json(&create("sku-gadget"))
        .send()
        .await?
        .json()
        .await?;
    let order = created["order_id"].as_str().unwrap().to_owned();
    wait_for(&stack, &order, |s| s["status"] == "confirmed").await?;
    client
        .post(format!("{}/orders/{order}/cancel", stack.order.url))
        .send()
        .await?
        .error_for_status()?;
    let state = wait_for(&stack, &order, |s| {
        s["compensation"]["payment"] == "refunded" && s["compensation"]["stock"] == "released"
    })
    .await?;
    let trace_id = state["trace_id"].as_str().unwrap().to_owned();
    let spans = trace_spans(&trace_id, |spans| {
        handled(spans, "payment-service", "order.cancelled.v1")
            && handled(spans, "inventory-service", "order.cancelled.v1")
            && handled(spans, "order-service", "stock.released.v1")
            && handled(spans, "order-service", "payment.refunded.v1")
    })
    .await?;
    assert!(
        spans
            .iter()
            .any(|(_, _, s, op, _)| s == "order-service" && op == "order cancel"),
        "the cancel is in the saga's trace"
    );
    assert_links_intact(&spans);
    assert_readable(&trace_id).await?;
    assert_request_found(&order, "POST /orders/{id}/cancel", &trace_id).await?;
    only_trace(&order, &trace_id).await?;
    eprintln!(
        "trace: customer-cancel saga {order} is trace {trace_id} with {} spans",
        spans.len()
    );

    let mut topics: Vec<String> = contracts::topics::SAGA_TOPICS
        .iter()
        .map(|t| stack.kafka.topic(t))
        .collect();
    for group in &stack.groups {
        topics.push(stack.kafka.topic(&contracts::topics::retry_topic(group)));
        topics.push(stack.kafka.topic(&contracts::topics::dlq_topic(group)));
    }
    let audited = saga_tests::audit::audit_messages(&stack.kafka, topics, None).await?;
    // Out of stock: created, completed, reservation failed, cancelled, refunded, released.
    // Customer cancel: created, completed, reserved, confirmed, cancelled, refunded, released.
    assert_eq!(audited, 13, "the two sagas' messages");
    eprintln!(
        "trace: {audited} messages, every one with its envelope and a causation chain to its order's first event"
    );
    stack.stop().await
}
