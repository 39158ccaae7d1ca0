//! The saga: `order/{id}/place` charges the customer, reserves every SKU, and confirms;
//! a refusal compensates what was done (in reverse) and cancels. `order/{id}/cancel`
//! refunds and releases a confirmed order. Both are exclusive handlers of the order's
//! Virtual Object, so a cancel (or a repeated place) queues behind the place of its id
//! and then answers from the order's state.

use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ledger::{AccountClient, StockClient};

const OUTCOME: &str = "outcome";
const CONFIRMED: &str = "confirmed";

/// Our order body (`currency` is accepted and ignored, as by the load).
#[derive(Serialize, Deserialize, Clone)]
pub struct PlaceOrder {
    customer_id: String,
    items: Vec<Item>,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Item {
    sku: String,
    quantity: i64,
    unit_price_cents: i64,
}

/// The contract's answer, kept in the order's state.
#[derive(Serialize, Deserialize, Clone)]
pub struct Outcome {
    order_id: String,
    status: String,
    reason: Option<String>,
    /// What a customer's cancel undoes (confirmed orders only); not part of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    placed: Option<Placed>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Placed {
    customer_id: String,
    amount: i64,
    items: Vec<(String, i64)>,
}

impl Outcome {
    /// The answer without the bookkeeping.
    fn answer(&self) -> Json<Outcome> {
        Json(Outcome {
            placed: None,
            ..self.clone()
        })
    }
}

/// A compensation, registered once its step succeeded.
enum Undo {
    Refund { customer: String, amount: i64 },
    Release { sku: String, quantity: i64 },
}

pub struct Order;

#[restate_sdk::object(name = "order")]
impl Order {
    #[handler]
    async fn place(
        &self,
        ctx: ObjectContext<'_>,
        order: Json<PlaceOrder>,
    ) -> HandlerResult<Json<Outcome>> {
        if let Some(Json(done)) = ctx.get::<Json<Outcome>>(OUTCOME).await? {
            return Ok(done.answer()); // a repeat of this id: the same order
        }
        let order = order.into_inner();
        let amount = amount(&order)?;

        let mut undo = Vec::new();
        let refused = steps(&ctx, &order, amount, &mut undo).await;
        if refused.is_some() {
            for step in undo.into_iter().rev() {
                match step {
                    Undo::Refund { customer, amount } => {
                        ctx.object_client::<AccountClient>(customer)
                            .refund(amount)
                            .call()
                            .await?;
                    }
                    Undo::Release { sku, quantity } => {
                        ctx.object_client::<StockClient>(sku)
                            .release(quantity)
                            .call()
                            .await?;
                    }
                }
            }
        }

        let outcome = Outcome {
            order_id: ctx.key().to_owned(),
            status: if refused.is_none() {
                CONFIRMED
            } else {
                "cancelled"
            }
            .to_owned(),
            reason: refused.map(str::to_owned),
            placed: refused.is_none().then(|| Placed {
                customer_id: order.customer_id.clone(),
                amount,
                items: order
                    .items
                    .iter()
                    .map(|i| (i.sku.clone(), i.quantity))
                    .collect(),
            }),
        };
        ctx.set(OUTCOME, Json(outcome.clone()));
        Ok(outcome.answer())
    }

    #[handler]
    async fn cancel(&self, ctx: ObjectContext<'_>) -> HandlerResult<Json<Outcome>> {
        let Some(Json(mut outcome)) = ctx.get::<Json<Outcome>>(OUTCOME).await? else {
            return Err(TerminalError::new_with_code(404, "no such order").into());
        };
        let Some(placed) = outcome
            .placed
            .take()
            .filter(|_| outcome.status == CONFIRMED)
        else {
            return Ok(outcome.answer()); // already cancelled
        };
        for (sku, quantity) in placed.items.iter().rev() {
            ctx.object_client::<StockClient>(sku.clone())
                .release(*quantity)
                .call()
                .await?;
        }
        ctx.object_client::<AccountClient>(placed.customer_id)
            .refund(placed.amount)
            .call()
            .await?;
        outcome.status = "cancelled".to_owned();
        outcome.reason = Some("customer".to_owned());
        ctx.set(OUTCOME, Json(outcome.clone()));
        Ok(outcome.answer())
    }

    /// The order's answer so far, if placed (read-only).
    #[handler]
    async fn status(&self, ctx: SharedObjectContext<'_>) -> HandlerResult<Json<Option<Outcome>>> {
        Ok(Json(
            ctx.get::<Json<Outcome>>(OUTCOME)
                .await?
                .map(|Json(o)| o.answer().0),
        ))
    }
}

/// The saga's forward steps; `Some(reason)` when a participant refused one.
async fn steps(
    ctx: &ObjectContext<'_>,
    order: &PlaceOrder,
    amount: i64,
    undo: &mut Vec<Undo>,
) -> Option<&'static str> {
    let customer = order.customer_id.clone();
    if ctx
        .object_client::<AccountClient>(customer.clone())
        .charge(amount)
        .call()
        .await
        .is_err()
    {
        return Some("payment_declined");
    }
    undo.push(Undo::Refund { customer, amount });
    for item in &order.items {
        if ctx
            .object_client::<StockClient>(item.sku.clone())
            .reserve(item.quantity)
            .call()
            .await
            .is_err()
        {
            return Some("out_of_stock");
        }
        undo.push(Undo::Release {
            sku: item.sku.clone(),
            quantity: item.quantity,
        });
    }
    None
}

/// The order's total in cents; a malformed order is refused (400), not retried.
fn amount(order: &PlaceOrder) -> Result<i64, TerminalError> {
    let invalid = || {
        TerminalError::new_with_code(
            400,
            "an order needs items with a positive quantity and a price of 0 or more",
        )
    };
    if order.items.is_empty() {
        return Err(invalid());
    }
    order.items.iter().try_fold(0i64, |sum, item| {
        if item.quantity <= 0 || item.unit_price_cents < 0 {
            return Err(invalid());
        }
        item.quantity
            .checked_mul(item.unit_price_cents)
            .and_then(|line| sum.checked_add(line))
            .ok_or_else(invalid)
    })
}
