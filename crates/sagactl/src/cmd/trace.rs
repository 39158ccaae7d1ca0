//! `sagactl trace <order-id | correlation-id>`: the saga's trace from Jaeger's query
//! API as a timeline, one line per span indented by parent, beside the order's history.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The order id or the saga's correlation id.
    order_id: String,
    #[command(flatten)]
    orders: super::order_ref::OrdersDb,
    /// Jaeger's query API.
    #[arg(long, env = "JAEGER_URL", default_value = "http://127.0.0.1:16686")]
    jaeger_url: String,
    /// order-service, to find the saga's trace and history.
    #[arg(long, env = "ORDER_URL", default_value = "http://127.0.0.1:8080")]
    order_url: String,
    /// `{"trace_id", "spans": [{"span_id", "parent_id", "service", "operation", "start_us", "duration_us", "tags"}]}`.
    #[arg(long)]
    json: bool,
}

#[derive(Debug)]
struct Span {
    span_id: String,
    parent_id: Option<String>,
    service: String,
    operation: String,
    start_us: i64,
    duration_us: i64,
    tags: BTreeMap<String, Value>,
}

pub(crate) async fn run(args: TraceArgs) -> anyhow::Result<()> {
    let client = super::http_client::client()?;
    let base = args.order_url.trim_end_matches('/');
    let order_id = super::order_ref::resolve(&client, base, &args.orders, &args.order_id).await?;
    let order: Value = client
        .get(format!("{base}/orders/{order_id}"))
        .send()
        .await
        .context("order-service did not answer")?
        .error_for_status()
        .context("no such order")?
        .json()
        .await?;
    let trace_id = order["trace_id"]
        .as_str()
        .context("the order has no trace (it was created untraced)")?;
    let url = format!(
        "{}/api/traces/{trace_id}",
        args.jaeger_url.trim_end_matches('/')
    );
    let body: Value = client
        .get(&url)
        .send()
        .await
        .context("Jaeger did not answer")?
        .json()
        .await?;
    let trace = body["data"]
        .get(0)
        .with_context(|| format!("Jaeger has no trace {trace_id} (yet)"))?;
    let spans = parse(trace);
    if args.json {
        let spans: Vec<Value> = spans
            .iter()
            .map(|s| {
                json!({"span_id": s.span_id, "parent_id": s.parent_id, "service": s.service, "operation": s.operation,
                       "start_us": s.start_us, "duration_us": s.duration_us, "tags": s.tags})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"trace_id": trace_id, "spans": spans}))?
        );
        return Ok(());
    }
    let history: Value = client
        .get(format!("{base}/orders/{order_id}/events"))
        .send()
        .await?
        .json()
        .await?;
    print_timeline(trace_id, &spans);
    println!();
    println!(
        "order {order_id} is {}; its events:",
        order["status"].as_str().unwrap_or("?")
    );
    for event in history.as_array().into_iter().flatten() {
        println!(
            "  v{:<3} {}  {}",
            event["version"].as_i64().unwrap_or_default(),
            event["recorded_at"].as_str().unwrap_or_default(),
            event["type"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

fn parse(trace: &Value) -> Vec<Span> {
    let processes: HashMap<String, String> = trace["processes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, p)| {
            (
                id.clone(),
                p["serviceName"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect();
    let mut spans: Vec<Span> = trace["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| Span {
            span_id: s["spanID"].as_str().unwrap_or_default().to_owned(),
            parent_id: s["references"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["refType"] == "CHILD_OF")
                .and_then(|r| r["spanID"].as_str())
                .map(str::to_owned),
            service: processes
                .get(s["processID"].as_str().unwrap_or_default())
                .cloned()
                .unwrap_or_default(),
            operation: s["operationName"].as_str().unwrap_or_default().to_owned(),
            start_us: s["startTime"].as_i64().unwrap_or_default(),
            duration_us: s["duration"].as_i64().unwrap_or_default(),
            tags: s["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| Some((t["key"].as_str()?.to_owned(), t["value"].clone())))
                .collect(),
        })
        .collect();
    spans.sort_by_key(|s| s.start_us);
    spans
}

/// A span of the compensation: a cancellation and everything that answers it.
fn is_compensation(span: &Span) -> bool {
    let event = span
        .tags
        .get("cloudevents.event_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ["cancel", "refund", "release"]
        .iter()
        .any(|w| span.operation.contains(w) || event.contains(w))
}

fn print_timeline(trace_id: &str, spans: &[Span]) {
    let start = spans.iter().map(|s| s.start_us).min().unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.start_us + s.duration_us)
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let width = 30.0;
    let ids: HashMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let depth = |span: &Span| {
        let mut depth = 0;
        let mut parent = span.parent_id.as_deref();
        while let Some(id) = parent.and_then(|p| ids.get(p)) {
            depth += 1;
            parent = id.parent_id.as_deref();
            if depth > 32 {
                break;
            }
        }
        depth
    };
    println!(
        "trace {trace_id}: {} spans over {:.1} ms (↺ = compensation)",
        spans.len(),
        (end - start) as f64 / 1000.0
    );
    for span in spans {
        let offset = ((span.start_us - start) as f64 / (end - start) as f64 * width) as usize;
        let length = ((span.duration_us as f64 / (end - start) as f64 * width) as usize).max(1);
        let bar = format!(
            "{}{}",
            " ".repeat(offset),
            "█".repeat(length.min(30 - offset.min(29)))
        );
        let label = format!(
            "{}{} {}",
            "  ".repeat(depth(span)),
            span.service,
            span.operation
        );
        println!(
            "{:>9.1} ms {:>8.1} ms |{bar:<30}| {}{label}",
            (span.start_us - start) as f64 / 1000.0,
            span.duration_us as f64 / 1000.0,
            if is_compensation(span) { "↺ " } else { "  " }
        );
    }
}
