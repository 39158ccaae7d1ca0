//! payment consumes `order-events`: `OrderCreated` charges, `OrderCancelled` refunds.

use contracts::{OrderEvent, SagaEvent};
use messaging::consumer::{Envelope, Handler, Outcome};
use messaging::error::HandlerError;
use outbox::Wakeup;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{Decision, on_order_cancelled, on_order_created};
use crate::store;

#[derive(Debug, Clone)]
pub struct PaymentHandler {
    pub wakeup: Wakeup,
    pub service_name: String,
}

impl Handler for PaymentHandler {
    fn handles(&self, name: &str) -> bool {
        matches!(name, "order.created" | "order.cancelled")
    }

    fn state_table(&self) -> &'static str {
        store::STATE_TABLE
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, HandlerError> {
        let order_id = envelope.order_id();
        let state = store::payment_state(tx, order_id).await?;
        let decision = match &envelope.event {
            SagaEvent::Order(OrderEvent::Created(created)) => {
                let account = store::lock_account(tx, &created.customer_id).await?;
                on_order_created(&state, created, account, Uuid::now_v7())
            }
            SagaEvent::Order(OrderEvent::Cancelled(_)) => on_order_cancelled(&state, order_id),
            _ => Decision::Nothing,
        };
        let Some(event) = decision.announcement() else {
            return Ok(Outcome::Ignored);
        };
        store::apply(tx, order_id, &decision).await?;
        outbox::enqueue_reaction(tx, envelope, event, &self.service_name).await?;
        Ok(Outcome::Applied)
    }

    fn committed(&self) {
        self.wakeup.notify();
    }
}
