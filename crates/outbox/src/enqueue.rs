//! Writing an event into the outbox, inside the caller's transaction.

use std::collections::BTreeMap;

use contracts::EventMetadata;
use contracts::events::TopicEvent;
use messaging::headers::event_header_pairs;
use opentelemetry::Context;
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

/// The most a row's key, value and headers may weigh: comfortably under the saga
/// topics' 1 MiB `max.message.bytes`, leaving room for the record's framing, so that
/// nothing unsendable is ever committed.
pub const MAX_RECORD_BYTES: usize = 900 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error(
        "event {event_type} is {bytes} bytes with key and headers, over the {limit}-byte limit"
    )]
    TooLarge {
        event_type: String,
        bytes: usize,
        limit: usize,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<EnqueueError> for messaging::error::HandlerError {
    /// A database failure keeps its class (an outage is retried, never dead-lettered);
    /// an event too large to send is the handler's failure.
    fn from(err: EnqueueError) -> Self {
        match err {
            EnqueueError::Database(err) => messaging::error::HandlerError::Database(err),
            too_large @ EnqueueError::TooLarge { .. } => {
                messaging::error::HandlerError::Rejected(too_large.to_string())
            }
        }
    }
}

/// One message as it will be produced.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    pub topic: String,
    pub key: String,
    pub event_id: Uuid,
    pub event_type: String,
    /// The event's JSON body.
    pub payload: serde_json::Value,
    /// Every header but the relay's own trace context: the CloudEvents envelope, plus
    /// the trace context and baggage of the work that wrote the row.
    pub headers: BTreeMap<String, String>,
}

impl OutboxRecord {
    /// The record for `event` with `metadata`, written in the trace context `cx` (the
    /// span handling the request or message that caused it).
    pub fn for_event<E: TopicEvent>(event: &E, metadata: &EventMetadata, cx: &Context) -> Self {
        let headers = event_header_pairs(metadata, cx).into_iter().collect();
        let payload = serde_json::from_slice(&event.encode()).expect("an encoded event is JSON");
        Self {
            topic: E::TOPIC.to_owned(),
            key: event.order_id().to_string(),
            event_id: metadata.event_id,
            event_type: metadata.event_type.to_string(),
            payload,
            headers,
        }
    }

    /// Key, value and headers as the broker will count them.
    pub fn size(&self) -> usize {
        let value = self.payload.to_string().len();
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.key.len() + value + headers
    }
}

/// Inserts `record` in the caller's transaction and returns its outbox id, under an
/// `INSERT outbox` database span. Call [`crate::Wakeup::notify`] after the transaction
/// commits.
pub async fn enqueue(tx: &mut PgConnection, record: &OutboxRecord) -> Result<i64, EnqueueError> {
    let bytes = record.size();
    if bytes > MAX_RECORD_BYTES {
        return Err(EnqueueError::TooLarge {
            event_type: record.event_type.clone(),
            bytes,
            limit: MAX_RECORD_BYTES,
        });
    }
    let headers = serde_json::to_value(&record.headers).expect("a string map is JSON");
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (topic, key, event_id, event_type, payload, headers)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&record.topic)
    .bind(&record.key)
    .bind(record.event_id)
    .bind(&record.event_type)
    .bind(&record.payload)
    .bind(headers)
    .fetch_one(tx)
    .instrument(telemetry::db_span!("INSERT", "outbox"))
    .await?;
    Ok(id)
}

/// Enqueues `event` as this service's reaction to the message in `envelope`: same
/// correlation, caused by that message's `ce_id`, in the trace of the current span
/// (the message's consume span).
pub async fn enqueue_reaction<E: TopicEvent>(
    tx: &mut PgConnection,
    envelope: &messaging::consumer::Envelope,
    event: &E,
    service: &str,
) -> Result<i64, EnqueueError> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let metadata = EventMetadata::new(
        event.event_type(),
        service,
        chrono::Utc::now(),
        envelope.metadata.correlation_id,
        envelope.metadata.event_id,
    );
    let record = OutboxRecord::for_event(event, &metadata, &tracing::Span::current().context());
    enqueue(tx, &record).await
}
