//! Executing one command on one order.

use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::events::{OrderCancelled, OrderConfirmed, OrderCreated, OrderShipped, TopicEvent};
use contracts::{EventMetadata, OrderEvent, OrderId};
use messaging::headers::trace_headers;
use opentelemetry::Context;
use outbox::{OutboxRecord, Wakeup};
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::{Command, DomainError, Order, OrderStatus, OrderStoreEvent, decide, evolve};
use crate::store::event_store::{self, StoreError, StoredEvent, StoredMetadata};
use crate::store::{deadlines, saga_lock, view};

/// How often a command is retried after losing a race for the next version.
const MAX_CONFLICT_RETRIES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Outbox(#[from] outbox::EnqueueError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The configured saga deadline does not fit the clock: never replaced by a default.
    #[error("the saga deadline {0:?} is beyond what the clock can add")]
    InvalidDeadline(Duration),
    /// A rule of the store was broken (a bug, or a corrupt stream): nothing is written.
    #[error("invariant broken: {0}")]
    Invariant(String),
}

impl ServiceError {
    /// Counts and logs a broken invariant; an operator must look.
    fn broken(kind: &'static str, err: ServiceError) -> Self {
        metrics::counter!("order_invariant_violations_total", "kind" => kind).increment(1);
        tracing::error!(kind, error = %err, "An order command broke an invariant; nothing was written.");
        err
    }
}

/// What caused a command: the event it reacts to, or a request or timer.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The `ce_id` of the event that caused it; `None` for a request or timer, whose
    /// cause is the order's latest event (or the correlation id for the first).
    pub causation_id: Option<Uuid>,
    /// The trace context the new events' messages carry.
    pub trace: Context,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The order after the command (`None` only if it still does not exist).
    pub order: Option<Order>,
    pub correlation_id: Option<Uuid>,
    /// Events appended; empty when the command no longer applied.
    pub appended: usize,
}

/// The order service's write side.
#[derive(Debug, Clone)]
pub struct OrderService {
    pub pool: PgPool,
    pub wakeup: Wakeup,
    pub saga_deadline: Duration,
    pub snapshot_every: i64,
    /// Where `now` comes from: the system's clock, or a test's.
    pub clock: super::Clock,
}

impl OrderService {
    /// When a saga started at `now` is due. A deadline the clock cannot add is an error,
    /// counted and logged, not a default: the service refuses to start with one.
    pub fn deadline_after(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
        due_after(now, self.saga_deadline).ok_or_else(|| {
            ServiceError::broken(
                "saga_deadline",
                ServiceError::InvalidDeadline(self.saga_deadline),
            )
        })
    }

    /// Runs `command` on an existing order (cancel, ship, expire) in its own
    /// transaction under the saga lock, retrying at once on a version conflict.
    pub async fn run(
        &self,
        order_id: OrderId,
        command: Command,
        cause: &Cause,
    ) -> Result<Result<Executed, DomainError>, ServiceError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.pool.begin().await?;
            // The lock the consumers and the deadline take first, so that cancel, ship
            // and expiry of one order serialise with them. No lock for an order that
            // does not exist: `decide` refuses it, and no lock row is left behind.
            if event_store::exists(&mut tx, order_id).await? {
                saga_lock::lock(&mut tx, order_id).await?;
            }
            match self
                .execute(&mut tx, order_id, command.clone(), cause)
                .await
            {
                Ok(Ok(executed)) => {
                    tx.commit()
                        .instrument(telemetry::db_span!("COMMIT"))
                        .await?;
                    if executed.appended > 0 {
                        self.wakeup.notify();
                    }
                    return Ok(Ok(executed));
                }
                Ok(Err(refused)) => return Ok(Err(refused)),
                Err(ServiceError::Store(StoreError::Conflict { .. }))
                    if attempt < MAX_CONFLICT_RETRIES =>
                {
                    tx.rollback().await?;
                    metrics::counter!("order_version_conflicts_total").increment(1);
                    tracing::debug!(%order_id, attempt, "Version conflict; deciding again.");
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Load, decide, append, and in the same transaction the view, the deadline and
    /// the outbox. A [`StoreError::Conflict`] means: roll back and try again. An
    /// expiry settles the order's deadline even when it no longer applies. Its span is
    /// named by the command (`order command: cancel`), so that the commands of a saga
    /// differ in Jaeger's tree, and names the saga once it is known.
    #[tracing::instrument(name = "order command", skip_all, fields(
        otel.name = format!("order command: {}", command.name()),
        order.id = %order_id,
        saga.correlation_id = tracing::field::Empty,
    ))]
    pub async fn execute(
        &self,
        tx: &mut PgConnection,
        order_id: OrderId,
        command: Command,
        cause: &Cause,
    ) -> Result<Result<Executed, DomainError>, ServiceError> {
        let now = self.clock.now();
        let loaded = event_store::load(tx, order_id).await?;
        let (state, first, last_recorded_at) = match loaded {
            Some(l) => (Some(l.order), l.first, l.last_recorded_at),
            None => (None, None, None),
        };
        let settles_deadline = command == Command::Expire;
        let events = match decide(state.as_ref(), command) {
            Ok(events) => events,
            Err(refused) => return Ok(Err(refused)),
        };
        let first = match (&state, first) {
            (_, Some(first)) => Some(first),
            (Some(_), None) => event_store::first_metadata(tx, order_id).await?,
            (None, None) => None,
        };
        let correlation_id = first.as_ref().map(|m| m.correlation_id);
        if events.is_empty() {
            if settles_deadline {
                deadlines::clear(tx, order_id).await?;
            }
            return Ok(Ok(Executed {
                order: state,
                correlation_id,
                appended: 0,
            }));
        }

        let correlation_id = correlation_id.unwrap_or_else(Uuid::now_v7);
        tracing::Span::current().record(
            "saga.correlation_id",
            tracing::field::display(correlation_id),
        );
        let causation_id = match (cause.causation_id, &state) {
            (Some(id), _) => id,
            // A new order's first event is caused by its correlation id.
            (None, None) => correlation_id,
            (None, Some(_)) => event_store::latest_event_id(tx, order_id)
                .await?
                .unwrap_or(correlation_id),
        };
        let expected = state.as_ref().map_or(0, |o| o.version);
        let with_metadata: Vec<(OrderStoreEvent, StoredMetadata)> = events
            .into_iter()
            .map(|event| {
                let trace = if expected == 0 {
                    trace_headers(&cause.trace).into_iter().collect()
                } else {
                    Default::default()
                };
                let metadata = StoredMetadata {
                    event_id: Uuid::now_v7(),
                    correlation_id,
                    causation_id,
                    trace,
                };
                (event, metadata)
            })
            .collect();
        let stored = event_store::append(
            tx,
            order_id,
            expected,
            &with_metadata,
            now,
            last_recorded_at,
        )
        .await?;

        let order = after_append(order_id, state.clone(), &stored)?;
        let created_at = view::upsert(tx, &order, correlation_id, now).await?;
        if crosses_multiple(expected, order.version, self.snapshot_every) {
            event_store::snapshot(tx, &order).await?;
        }
        let was_pending = state
            .as_ref()
            .is_none_or(|o| o.status == OrderStatus::Pending);
        if state.is_none() {
            deadlines::schedule(tx, order_id, self.deadline_after(now)?).await?;
        } else if was_pending && order.status != OrderStatus::Pending {
            deadlines::clear(tx, order_id).await?;
            record_outcome(&order, created_at, now);
        }
        for event in &stored {
            if let Some(published) = to_published(&order, &event.event) {
                let metadata = EventMetadata {
                    event_id: event.metadata.event_id,
                    event_type: published.event_type(),
                    source: format!("/{}", contracts::topics::ORDER_SERVICE),
                    time: event.recorded_at,
                    correlation_id,
                    causation_id,
                };
                outbox::enqueue(
                    tx,
                    &OutboxRecord::for_event(&published, &metadata, &cause.trace),
                )
                .await?;
            }
        }
        Ok(Ok(Executed {
            appended: stored.len(),
            order: Some(order),
            correlation_id: Some(correlation_id),
        }))
    }
}

/// `now + deadline`, if the clock can hold it.
fn due_after(now: DateTime<Utc>, deadline: Duration) -> Option<DateTime<Utc>> {
    chrono::Duration::from_std(deadline)
        .ok()
        .and_then(|deadline| now.checked_add_signed(deadline))
}

/// The order after the events just appended. Appended events always make an order
/// (`decide` starts a stream only with `Created`); if they do not, the store's rules
/// are broken and the caller rolls back rather than report nothing appended.
fn after_append(
    order_id: OrderId,
    state: Option<Order>,
    stored: &[StoredEvent],
) -> Result<Order, ServiceError> {
    stored
        .iter()
        .fold(state, |s, e| evolve(s, &e.event))
        .ok_or_else(|| {
            let problem = format!("the events appended to order {order_id} make no order");
            ServiceError::broken("append_without_order", ServiceError::Invariant(problem))
        })
}

/// Counts how a saga ended and how long it took (creation to its outcome).
fn record_outcome(order: &Order, created_at: DateTime<Utc>, now: DateTime<Utc>) {
    let outcome = match order.cancel_reason {
        None => "confirmed".to_owned(),
        Some(reason) => contracts::codec::json_name(&reason)
            .map(|r| format!("cancelled_{r}"))
            .unwrap_or_else(|| "cancelled".to_owned()),
    };
    metrics::counter!("saga_outcomes_total", "outcome" => outcome.clone()).increment(1);
    let seconds = (now - created_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
    metrics::histogram!("saga_duration_seconds", "outcome" => outcome).record(seconds);
}

/// True when a snapshot is due: the version crossed a multiple of `every`.
fn crosses_multiple(before: i64, after: i64, every: i64) -> bool {
    every > 0 && before / every != after / every
}

/// The public event a stored event announces, if any.
pub fn to_published(order: &Order, event: &OrderStoreEvent) -> Option<OrderEvent> {
    let order_id = order.order_id;
    Some(match event {
        OrderStoreEvent::Created(created) => OrderEvent::Created(OrderCreated {
            order_id,
            customer_id: created.customer_id.clone(),
            items: created.items.clone(),
            total_cents: created.total_cents,
            currency: created.currency,
        }),
        OrderStoreEvent::Confirmed => OrderEvent::Confirmed(OrderConfirmed { order_id }),
        OrderStoreEvent::Cancelled(cancelled) => OrderEvent::Cancelled(OrderCancelled {
            order_id,
            reason: cancelled.reason,
        }),
        OrderStoreEvent::Shipped(shipped) => OrderEvent::Shipped(OrderShipped {
            order_id,
            tracking_number: shipped.tracking_number.clone(),
        }),
        OrderStoreEvent::PaymentRecorded(_)
        | OrderStoreEvent::RefundRecorded(_)
        | OrderStoreEvent::ReleaseRecorded(_) => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{ServiceError, after_append, crosses_multiple, due_after, to_published};
    use crate::domain::events::*;
    use crate::domain::{OrderStoreEvent, evolve};
    use crate::store::{StoredEvent, StoredMetadata};
    use contracts::{CancelReason, Currency, OrderId};

    #[test]
    fn exactly_the_types_the_store_calls_published_are_published() {
        let created = OrderStoreEvent::Created(Created {
            order_id: OrderId::new(),
            customer_id: "c-1".into(),
            items: Vec::new(),
            total_cents: 0,
            currency: Currency::Eur,
        });
        let order = evolve(None, &created).expect("a created order");
        let events = [
            created,
            OrderStoreEvent::PaymentRecorded(PaymentRecorded {
                payment_id: uuid::Uuid::nil(),
                amount_cents: 1,
            }),
            OrderStoreEvent::Confirmed,
            OrderStoreEvent::Cancelled(Cancelled {
                reason: CancelReason::Customer,
            }),
            OrderStoreEvent::RefundRecorded(RefundRecorded {
                payment_id: None,
                amount_cents: 0,
            }),
            OrderStoreEvent::ReleaseRecorded(ReleaseRecorded { items: Vec::new() }),
            OrderStoreEvent::Shipped(Shipped {
                tracking_number: "T-1".into(),
            }),
        ];
        assert_eq!(events.len(), StoredType::ALL.len());
        for event in &events {
            assert_eq!(
                to_published(&order, event).is_some(),
                event.stored_type().is_published(),
                "{}",
                event.event_type()
            );
        }
    }

    fn stored(version: i64, event: OrderStoreEvent) -> StoredEvent {
        StoredEvent {
            version,
            event,
            metadata: StoredMetadata {
                event_id: uuid::Uuid::nil(),
                correlation_id: uuid::Uuid::nil(),
                causation_id: uuid::Uuid::nil(),
                trace: Default::default(),
            },
            recorded_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn appended_events_that_make_no_order_are_an_error_not_nothing_appended() {
        let order_id = OrderId::new();
        let orphan = [stored(1, OrderStoreEvent::Confirmed)];
        let err = after_append(order_id, None, &orphan).unwrap_err();
        assert!(matches!(err, ServiceError::Invariant(_)), "{err}");
        let created = OrderStoreEvent::Created(Created {
            order_id,
            customer_id: "c-1".into(),
            items: Vec::new(),
            total_cents: 0,
            currency: Currency::Eur,
        });
        let order = after_append(order_id, None, &[stored(1, created)]).unwrap();
        assert_eq!(order.version, 1);
    }

    #[test]
    fn a_deadline_the_clock_cannot_add_is_none_not_30_seconds() {
        let now = chrono::Utc::now();
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(due_after(now, hour), Some(now + chrono::Duration::hours(1)));
        // Beyond chrono's durations, and beyond its calendar.
        for beyond in [
            std::time::Duration::MAX,
            std::time::Duration::from_secs(1 << 50),
        ] {
            assert_eq!(due_after(now, beyond), None, "{beyond:?}");
        }
    }

    #[test]
    fn a_snapshot_is_due_each_time_the_version_crosses_a_multiple() {
        assert!(crosses_multiple(9, 10, 10));
        assert!(crosses_multiple(8, 11, 10));
        assert!(!crosses_multiple(10, 11, 10));
        assert!(!crosses_multiple(0, 5, 0));
    }
}
