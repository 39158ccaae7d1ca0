//! Consumes `payment-events` and `inventory-events` (DESIGN.md §1, step 4).

use contracts::{InventoryEvent, OrderId, PaymentEvent, SagaEvent};
use messaging::consumer::{Envelope, Handler, Outcome};
use messaging::error::HandlerError;
use sqlx::PgConnection;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::app::{Cause, OrderService, ServiceError};
use crate::domain::Command;
use crate::store::StoreError;

/// Drives the aggregate from the other services' outcomes.
#[derive(Debug, Clone)]
pub struct SagaHandler {
    pub service: OrderService,
}

/// The event types this service reacts to.
const HANDLED: [&str; 6] = [
    "payment.completed",
    "payment.failed",
    "payment.refunded",
    "stock.reserved",
    "stock.reservation_failed",
    "stock.released",
];

/// The aggregate command an event asks for; `None` for what this service ignores.
pub fn command_for(event: &SagaEvent) -> Option<Command> {
    Some(match event {
        SagaEvent::Payment(PaymentEvent::Completed(e)) => Command::RecordPayment {
            payment_id: e.payment_id,
            amount_cents: e.amount_cents,
        },
        SagaEvent::Payment(PaymentEvent::Failed(e)) => {
            Command::RecordPaymentFailure { reason: e.reason }
        }
        SagaEvent::Payment(PaymentEvent::Refunded(e)) => Command::RecordRefund {
            payment_id: e.payment_id,
            amount_cents: e.amount_cents,
        },
        SagaEvent::Inventory(InventoryEvent::Reserved(_)) => Command::RecordStockReserved,
        SagaEvent::Inventory(InventoryEvent::ReservationFailed(_)) => Command::RecordStockFailure,
        SagaEvent::Inventory(InventoryEvent::Released(e)) => Command::RecordRelease {
            items: e.items.clone(),
        },
        SagaEvent::Order(_) => return None,
    })
}

impl Handler for SagaHandler {
    fn handles(&self, name: &str) -> bool {
        HANDLED.contains(&name)
    }

    fn state_table(&self) -> &'static str {
        SAGA_LOCKS
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, HandlerError> {
        let Some(command) = command_for(&envelope.event) else {
            return Ok(Outcome::Ignored);
        };
        let cause = Cause {
            causation_id: Some(envelope.metadata.event_id),
            trace: tracing::Span::current().context(),
        };
        let executed = self
            .service
            .execute(tx, envelope.order_id(), command, &cause)
            .await
            .map_err(to_handler_error)?;
        match executed {
            Ok(executed) if executed.appended > 0 => Ok(Outcome::Applied),
            // Saga commands never fail; one that no longer applies changes nothing.
            Ok(_) | Err(_) => Ok(Outcome::Ignored),
        }
    }

    fn committed(&self) {
        self.service.wakeup.notify();
    }
}

/// The per-order state rows every transaction on an order locks first (DESIGN.md §1):
/// the consumer runtime's, and [`lock_saga_row`]'s for the deadline timer.
const SAGA_LOCKS: &str = "order_saga_locks";

/// Creates and locks the order's row in [`SAGA_LOCKS`].
pub async fn lock_saga_row(tx: &mut PgConnection, order_id: OrderId) -> Result<(), sqlx::Error> {
    messaging::consumer::lock_state_row(tx, SAGA_LOCKS, order_id).await
}

fn to_handler_error(err: ServiceError) -> HandlerError {
    match err {
        ServiceError::Store(StoreError::Conflict { order_id, .. }) => {
            HandlerError::Conflict(order_id.to_string())
        }
        ServiceError::Store(StoreError::Database(err)) | ServiceError::Database(err) => {
            HandlerError::Database(err)
        }
        ServiceError::Outbox(outbox::EnqueueError::Database(err)) => HandlerError::Database(err),
        other => HandlerError::Rejected(other.to_string()),
    }
}
