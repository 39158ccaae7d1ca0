//! One saga, one trace: the out-of-stock, customer-cancel and ship sagas, run through
//! the three service processes, are each exactly one trace in Jaeger with spans from
//! all three services, their compensations included, every parent link intact; and the
//! trace reads as Jaeger's UI shows it: no warnings or noise, steps told apart by name,
//! database spans that show where a step's time went, the request that acted on the
//! order found by its id.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::jaeger::{self, Span, trace_spans};
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

/// Whether `service` handled an event of `event_type` (`order.cancelled.v1`) in the trace.
fn handled(spans: &[Span], service: &str, event_type: &str) -> bool {
    spans.iter().any(|s| {
        s.service == service
            && s.operation.starts_with("process ")
            && s.text("cloudevents.event_type") == event_type
    })
}

/// Every span but the root has its parent in the trace: no hop broke it.
fn assert_links_intact(spans: &[Span]) {
    let roots: Vec<_> = spans.iter().filter(|s| s.parent.is_none()).collect();
    assert_eq!(roots.len(), 1, "one root: {roots:#?}");
    assert!(jaeger::parents_present(spans), "a parent outside the trace");
    let services: HashSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
    for service in ["order-service", "payment-service", "inventory-service"] {
        assert!(services.contains(service), "no span from {service}");
    }
}

/// The names tell a saga's steps apart, as Jaeger's tree shows names only: the order's
/// commands are named by command (`order command: cancel`), and every message's spans
/// by its event type (`process order.cancelled`, `send order.cancelled`), so spans of
/// different types have different names.
fn assert_steps_named(spans: &[Span]) {
    let commands: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.operation.starts_with("order command: "))
        .map(|s| s.operation.as_str())
        .collect();
    assert!(commands.len() > 1, "the commands look alike: {commands:?}");
    let mut names_by_type: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for span in spans {
        let Some(operation) = ["process", "send"]
            .into_iter()
            .find(|op| span.operation.starts_with(&format!("{op} ")))
        else {
            continue;
        };
        let event_type = span.text("cloudevents.event_type");
        let name = event_type.rsplit_once(".v").map_or(event_type, |(n, _)| n);
        assert_eq!(span.operation, format!("{operation} {name}"), "{span:#?}");
        assert_eq!(
            span.text("messaging.operation.type"),
            operation,
            "{span:#?}"
        );
        assert!(
            !span.text("messaging.destination.name").is_empty(),
            "{span:#?}"
        );
        names_by_type
            .entry(event_type)
            .or_default()
            .insert(&span.operation);
    }
    let processed: BTreeSet<&str> = names_by_type
        .values()
        .flatten()
        .filter(|n| n.starts_with("process "))
        .copied()
        .collect();
    assert!(
        processed.len() > 1,
        "one process name for all: {names_by_type:?}"
    );
}

/// Where a step's time went: every process span has database spans below it (its
/// handler's reads and writes), some process span holds its transaction's admission
/// and commit, and each database span follows OpenTelemetry's database conventions,
/// in the service's own database, with no statement or parameters.
fn assert_database_spans(spans: &[Span], databases: &HashMap<&str, &str>) {
    let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.id.as_str(), s)).collect();
    let under = |span: &Span, ancestor: &Span| {
        let mut parent = span.parent.as_deref();
        while let Some(p) = parent.and_then(|p| by_id.get(p)) {
            if p.id == ancestor.id {
                return true;
            }
            parent = p.parent.as_deref();
        }
        false
    };
    let database: Vec<&Span> = spans.iter().filter(|s| s.is_database()).collect();
    for process in spans.iter().filter(|s| s.operation.starts_with("process ")) {
        assert!(
            database.iter().any(|db| under(db, process)),
            "no database span under {} {}",
            process.service,
            process.operation
        );
    }
    let commits = database
        .iter()
        .filter(|db| db.operation == "COMMIT")
        .filter_map(|db| by_id.get(db.parent.as_deref()?))
        .filter(|parent| parent.operation.starts_with("process "))
        .count();
    assert!(commits > 0, "no commit under a process span");
    assert!(
        database
            .iter()
            .any(|db| db.operation.ends_with(" INSERT processed_messages")),
        "no inbox admission"
    );
    for db in database {
        assert_eq!(db.text("db.system.name"), "postgresql", "{db:#?}");
        assert_eq!(db.text("span.kind"), "client", "{db:#?}");
        assert_eq!(
            Some(db.text("db.namespace")),
            databases.get(db.service.as_str()).copied(),
            "{db:#?}"
        );
        let operation = db.text("db.operation.name");
        let named = match (db.tag("db.query.summary"), db.tag("db.collection.name")) {
            (Some(summary), _) => summary.as_str() == Some(db.operation.as_str()),
            (None, Some(collection)) => {
                db.operation == format!("{operation} {}", collection.as_str().unwrap_or("?"))
            }
            (None, None) => db.operation == operation,
        };
        assert!(named, "{db:#?}");
        for key in ["db.query.text", "db.statement"] {
            assert!(db.tag(key).is_none(), "{} carries {key}", db.operation);
        }
        assert!(
            !db.tags.keys().any(|k| k.starts_with("db.query.parameter")),
            "{db:#?}"
        );
    }
}

/// Only one trace carries the saga's work on this order, whichever service is asked.
/// A request that acted on the order (a cancel, a ship) is a trace of its own: its
/// server span, which names the order too, and the read that found the saga (a
/// database span); it is not saga work.
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
            jaeger::parse(trace).iter().all(|span| {
                span.text("span.kind") == "server"
                    || (span.is_database() && span.text("span.kind") == "client")
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
async fn the_out_of_stock_cancel_and_ship_sagas_are_each_one_trace_that_reads() -> anyhow::Result<()>
{
    let stack = ProcessStack::start("e2e_trace").await?;
    let databases = HashMap::from([
        ("order-service", stack.order.database.name.as_str()),
        ("payment-service", stack.payment.database.name.as_str()),
        ("inventory-service", stack.inventory.database.name.as_str()),
    ]);
    let client = reqwest::Client::new();
    let create = |sku: &str| json!({"customer_id": "c-rich", "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 700}], "currency": "EUR"});
    let place = async |sku: &str| -> anyhow::Result<String> {
        let created: Value = client
            .post(format!("{}/orders", stack.order.url))
            .json(&create(sku))
            .send()
            .await?
            .json()
            .await?;
        Ok(created["order_id"].as_str().unwrap().to_owned())
    };

    // Out of stock: charged, refused, cancelled, refunded.
    let order = place("sku-soldout").await?;
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
    assert_steps_named(&spans);
    assert_database_spans(&spans, &databases);
    assert_readable(&trace_id).await?;
    only_trace(&order, &trace_id).await?;
    eprintln!(
        "trace: out-of-stock saga {order} is trace {trace_id} with {} spans",
        spans.len()
    );

    // Customer cancel after confirmation: the cancel joins the saga's trace, with the
    // refund and the release.
    let order = place("sku-gadget").await?;
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
    let named = |service: &str, operation: &str| {
        spans
            .iter()
            .any(|s| s.service == service && s.operation == operation)
    };
    assert!(
        named("order-service", "order cancel"),
        "the cancel is in the saga's trace"
    );
    assert!(named("order-service", "order command: cancel"));
    assert_links_intact(&spans);
    assert_steps_named(&spans);
    assert_database_spans(&spans, &databases);
    assert_readable(&trace_id).await?;
    assert_request_found(&order, "POST /orders/{id}/cancel", &trace_id).await?;
    only_trace(&order, &trace_id).await?;
    jaeger::print_tree(
        &format!(
            "trace: customer-cancel saga {order} is trace {trace_id} with {} spans:",
            spans.len()
        ),
        &spans,
    );

    // Ship after confirmation: the ship joins the saga's trace; inventory ships the stock.
    let order = place("sku-gadget").await?;
    wait_for(&stack, &order, |s| s["status"] == "confirmed").await?;
    client
        .post(format!("{}/orders/{order}/ship", stack.order.url))
        .json(&json!({"tracking_number": "TRK-1"}))
        .send()
        .await?
        .error_for_status()?;
    let state = wait_for(&stack, &order, |s| s["status"] == "shipped").await?;
    let trace_id = state["trace_id"].as_str().unwrap().to_owned();
    let spans = trace_spans(&trace_id, |spans| {
        handled(spans, "inventory-service", "order.shipped.v1")
    })
    .await?;
    for operation in ["order ship", "order command: ship"] {
        assert!(
            spans
                .iter()
                .any(|s| s.service == "order-service" && s.operation == operation),
            "no {operation} in the saga's trace"
        );
    }
    assert_links_intact(&spans);
    assert_steps_named(&spans);
    assert_database_spans(&spans, &databases);
    assert_readable(&trace_id).await?;
    assert_request_found(&order, "POST /orders/{id}/ship", &trace_id).await?;
    only_trace(&order, &trace_id).await?;
    eprintln!(
        "trace: ship saga {order} is trace {trace_id} with {} spans",
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
    // Ship: created, completed, reserved, confirmed, shipped.
    assert_eq!(audited, 18, "the three sagas' messages");
    eprintln!(
        "trace: {audited} messages, every one with its envelope and a causation chain to its order's first event"
    );
    stack.stop().await
}
