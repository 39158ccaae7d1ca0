//! Consumes `payment-events` and `inventory-events` (DESIGN.md §1, step 4).

use contracts::{InventoryEvent, PaymentEvent, SagaEvent};
use messaging::consumer::{Envelope, Handler, Outcome};
use messaging::error::HandlerError;
use sqlx::PgConnection;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::app::{Cause, OrderService, ServiceError};
use crate::domain::Command;
use crate::store::{StoreError, saga_lock};

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
        saga_lock::TABLE
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

fn to_handler_error(err: ServiceError) -> HandlerError {
    match err {
        ServiceError::Store(StoreError::Conflict { order_id, .. }) => {
            HandlerError::Conflict(order_id.to_string())
        }
        ServiceError::Store(StoreError::Database(err)) | ServiceError::Database(err) => {
            HandlerError::Database(err)
        }
        ServiceError::Outbox(outbox::EnqueueError::Database(err)) => HandlerError::Database(err),
        // A stream this build cannot read, or a broken rule: never applied on a guess.
        err @ (ServiceError::Store(StoreError::Event(_)) | ServiceError::Invariant(_)) => {
            HandlerError::Corrupt(err.to_string())
        }
        other => HandlerError::Rejected(other.to_string()),
    }
}
