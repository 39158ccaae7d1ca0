//! Work that starts later on a saga (a customer cancel, a ship, the deadline) joins the
//! saga's trace: its span is a child of the saga's root context, kept in the metadata of
//! the order's first event, and links the request or timer that started it. So one saga
//! is one trace, from the first request to the last compensation.

use contracts::OrderId;
use messaging::headers::HeaderExtractorMap;
use opentelemetry::global;
use opentelemetry::trace::TraceContextExt;
use sqlx::PgPool;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::store::StoreError;
use crate::store::event_store;

/// A span for `operation` on `order_id`, in the saga's trace. The saga's correlation id
/// is recorded on it and on the span that started the work (the request's or the
/// timer's, which declare `saga.correlation_id`), so every line logged in either names
/// the saga.
pub async fn join_saga(
    pool: &PgPool,
    order_id: OrderId,
    operation: &'static str,
) -> Result<tracing::Span, StoreError> {
    let mut conn = pool.acquire().await?;
    let first = event_store::first_metadata(&mut conn, order_id).await?;
    let current = tracing::Span::current();
    let started_by = current.context().span().span_context().clone();
    let span = tracing::info_span!(
        "saga work",
        otel.name = operation,
        order.id = %order_id,
        saga.correlation_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    if let Some(first) = first {
        for named in [&span, &current] {
            named.record(
                "saga.correlation_id",
                tracing::field::display(first.correlation_id),
            );
        }
        let root =
            global::get_text_map_propagator(|p| p.extract(&HeaderExtractorMap(&first.trace)));
        if root.span().span_context().is_valid() {
            let _ = span.set_parent(root);
        }
    }
    if started_by.is_valid() {
        span.add_link(started_by);
    }
    telemetry::record_trace_id(&span);
    Ok(span)
}
