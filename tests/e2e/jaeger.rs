//! A trace as Jaeger's query API returns it (the API its UI reads, with Jaeger's
//! adjusters applied): its spans with their services, parents and tags, and the tree
//! a person sees in the UI.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Map, Value};

/// One span of a trace.
#[derive(Debug, Clone)]
pub struct Span {
    pub id: String,
    /// The `CHILD_OF` reference; `None` for the root.
    pub parent: Option<String>,
    pub service: String,
    pub operation: String,
    pub start_us: i64,
    pub tags: Map<String, Value>,
}

impl Span {
    pub fn tag(&self, key: &str) -> Option<&Value> {
        self.tags.get(key)
    }

    /// A tag as text, `""` when absent or not text.
    pub fn text(&self, key: &str) -> &str {
        self.tag(key).and_then(Value::as_str).unwrap_or_default()
    }

    /// A database span (OpenTelemetry's `db.system.name`).
    pub fn is_database(&self) -> bool {
        self.tag("db.system.name").is_some()
    }
}

/// The spans of one trace in the API's answer.
pub fn parse(trace: &Value) -> Vec<Span> {
    let services: HashMap<&str, &str> = trace["processes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, p)| (k.as_str(), p["serviceName"].as_str().unwrap_or_default()))
        .collect();
    trace["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| Span {
            id: s["spanID"].as_str().unwrap_or_default().to_owned(),
            parent: s["references"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["refType"] == "CHILD_OF")
                .and_then(|r| r["spanID"].as_str())
                .map(str::to_owned),
            service: services
                .get(s["processID"].as_str().unwrap_or_default())
                .map(|s| (*s).to_owned())
                .unwrap_or_default(),
            operation: s["operationName"].as_str().unwrap_or_default().to_owned(),
            start_us: s["startTime"].as_i64().unwrap_or_default(),
            tags: s["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| Some((t["key"].as_str()?.to_owned(), t["value"].clone())))
                .collect(),
        })
        .collect()
}

/// The trace's spans once `until` holds for them and Jaeger has the parent of every
/// span: each service exports on its own schedule, so a consume span can arrive
/// before the send span it is a child of.
pub async fn trace_spans(
    trace_id: &str,
    until: impl Fn(&[Span]) -> bool,
) -> anyhow::Result<Vec<Span>> {
    let url = format!("{}/api/traces/{trace_id}", test_support::jaeger_query_url());
    let mut spans = Vec::new();
    for _ in 0..60 {
        let body: Value = reqwest::get(&url).await?.json().await?;
        if let Some(trace) = body["data"].get(0) {
            spans = parse(trace);
            if until(&spans) && parents_present(&spans) {
                return Ok(spans);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("trace {trace_id} never got complete: {spans:#?}")
}

/// Whether every span's parent is among the spans.
pub fn parents_present(spans: &[Span]) -> bool {
    let ids: HashSet<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    spans
        .iter()
        .all(|s| s.parent.as_deref().is_none_or(|p| ids.contains(p)))
}

/// The spans in the order of Jaeger's tree, each with its depth: a parent before its
/// children, siblings by start time.
pub fn tree(spans: &[Span]) -> Vec<(usize, &Span)> {
    let ids: HashSet<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<&Span>> = HashMap::new();
    for span in spans {
        // A span whose parent is missing shows at the top, as Jaeger shows it.
        let parent = span.parent.as_deref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    for siblings in children.values_mut() {
        siblings.sort_by_key(|s| s.start_us);
    }
    let mut ordered = Vec::with_capacity(spans.len());
    let mut stack: Vec<(usize, &Span)> = children
        .get(&None)
        .into_iter()
        .flatten()
        .rev()
        .map(|s| (0, *s))
        .collect();
    while let Some((depth, span)) = stack.pop() {
        ordered.push((depth, span));
        for child in children
            .get(&Some(span.id.as_str()))
            .into_iter()
            .flatten()
            .rev()
        {
            stack.push((depth + 1, child));
        }
    }
    ordered
}

/// Prints the tree as Jaeger's UI shows it: service and span name, indented by depth.
pub fn print_tree(title: &str, spans: &[Span]) {
    eprintln!("{title}");
    for (depth, span) in tree(spans) {
        eprintln!(
            "  {}{} {}",
            "  ".repeat(depth),
            span.service,
            span.operation
        );
    }
}
