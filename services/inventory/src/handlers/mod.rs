//! inventory consumes `payment-events` (`PaymentCompleted` reserves) and `order-events`
//! (`OrderCancelled` releases, `OrderShipped` ships).

use contracts::{OrderEvent, PaymentEvent, SagaEvent};
use messaging::consumer::{Envelope, Handler, Outcome};
use messaging::error::HandlerError;
use outbox::Wakeup;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{Decision, on_order_cancelled, on_order_shipped, on_payment_completed};
use crate::store;

#[derive(Debug, Clone)]
pub struct InventoryHandler {
    pub wakeup: Wakeup,
    pub service_name: String,
}

impl Handler for InventoryHandler {
    fn handles(&self, name: &str) -> bool {
        matches!(
            name,
            "payment.completed" | "order.cancelled" | "order.shipped"
        )
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
        let state = store::reservation(tx, order_id).await?;
        let decision = match &envelope.event {
            SagaEvent::Payment(PaymentEvent::Completed(paid)) => {
                let skus: Vec<String> = paid.items.iter().map(|l| l.sku.clone()).collect();
                let available = store::lock_stock(tx, &skus).await?;
                on_payment_completed(&state, paid, &available, Uuid::now_v7())
            }
            SagaEvent::Order(OrderEvent::Cancelled(_)) => on_order_cancelled(&state, order_id),
            SagaEvent::Order(OrderEvent::Shipped(_)) => on_order_shipped(&state),
            _ => Decision::Nothing,
        };
        if decision == Decision::Nothing {
            return Ok(Outcome::Ignored);
        }
        if let Decision::Release { items, .. } | Decision::Ship { items } = &decision {
            // Stock rows are locked in sorted SKU order before they change.
            let skus: Vec<String> = items.iter().map(|l| l.sku.clone()).collect();
            store::lock_stock(tx, &skus).await?;
        }
        store::apply(tx, order_id, &decision).await?;
        if let Some(event) = decision.announcement() {
            outbox::enqueue_reaction(tx, envelope, event, &self.service_name).await?;
        }
        Ok(Outcome::Applied)
    }

    fn committed(&self) {
        self.wakeup.notify();
    }
}
