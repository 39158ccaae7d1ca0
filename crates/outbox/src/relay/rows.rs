//! One outbox row as the relay reads, publishes and marks it: its producer span and
//! headers (the trace continues from the work that wrote the row), and the statement
//! that marks a batch published or parked.

use std::collections::BTreeMap;

use messaging::headers::{HeaderExtractorMap, to_owned_headers, trace_headers};
use opentelemetry::global;
use sqlx::FromRow;
use tracing_opentelemetry::OpenTelemetrySpanExt;

#[derive(Debug, FromRow)]
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) topic: String,
    pub(super) key: String,
    pub(super) event_type: String,
    /// The body as PostgreSQL renders the `jsonb`: sent as is, no re-encoding.
    pub(super) payload: String,
    pub(super) headers: sqlx::types::Json<BTreeMap<String, String>>,
}

/// Marks on the leader's session: `published` as published, `parked` as refused.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn mark(
    session: &mut sqlx::PgConnection,
    published: &[i64],
    parked: &[(i64, String)],
) -> Result<(), sqlx::Error> {
    if !published.is_empty() {
        sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(published)
            .execute(&mut *session)
            .await?;
        metrics::counter!("outbox_published_total").increment(published.len() as u64);
    }
    for (id, reason) in parked {
        tracing::error!(outbox_id = id, reason = %reason, "The broker refused an outbox row for good; parked it. Inspect with `sagactl outbox parked`.");
        sqlx::query("UPDATE outbox SET failed_at = now(), failure = $2 WHERE id = $1")
            .bind(id)
            .bind(reason)
            .execute(&mut *session)
            .await?;
        metrics::counter!("outbox_parked_total").increment(1);
    }
    Ok(())
}

/// The producer span of one row: a child of the context that wrote the row, so the
/// trace runs from the request or message through the outbox to the consumer.
pub(super) fn publish_span(row: &Row, topic: &str) -> tracing::Span {
    let header = |name| {
        row.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    };
    let span = messaging::producer::publish_span(
        messaging::producer::event_name(&row.event_type),
        topic,
        messaging::producer::PublishAttributes {
            key: &row.key,
            event_id: header(contracts::headers::CE_ID),
            event_type: &row.event_type,
            correlation_id: header(contracts::headers::CORRELATION_ID),
        },
    );
    span.record("outbox.id", row.id);
    let parent =
        global::get_text_map_propagator(|p| p.extract(&HeaderExtractorMap(&row.headers.0)));
    let _ = span.set_parent(parent);
    span
}

/// The stored headers with the trace context replaced by the publish span's.
pub(super) fn message_headers(row: &Row, span: &tracing::Span) -> rdkafka::message::OwnedHeaders {
    let mut headers = row.headers.0.clone();
    for (key, value) in trace_headers(&span.context()) {
        headers.insert(key, value);
    }
    to_owned_headers(headers)
}
