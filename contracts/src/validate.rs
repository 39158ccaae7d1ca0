//! The contract of each event beyond its JSON shape: the bounds of DESIGN.md §4 (ids,
//! quantities, prices, lines, no SKU twice) and the sums that must agree (a total is its
//! lines'). Serde checks the shape; [`Validate`] checks the rest, once, where a consumer
//! decodes a message, so no handler acts on an event its producer could not have sent
//! (a wrong total would be charged, a duplicate SKU or a zero quantity would reach a
//! database CHECK). An event that breaks its contract is poison.
//!
//! Pure: no I/O, no clock. The order service's input rules use the same bounds.

use std::collections::HashSet;

use crate::events::{
    InventoryEvent, LineItem, OrderCancelled, OrderConfirmed, OrderCreated, OrderEvent,
    OrderShipped, PaymentCompleted, PaymentEvent, PaymentFailed, PaymentRefunded, SagaEvent,
    StockReleased, StockReservationFailed, StockReserved,
};
use crate::ids::{ID_RULE, is_short_printable, is_valid_id};

/// Most lines in one order.
pub const MAX_LINES: usize = 100;
/// Largest quantity of one line.
pub const MAX_QUANTITY: u32 = 10_000;
/// Largest unit price, in cents.
pub const MAX_UNIT_PRICE_CENTS: i64 = 1_000_000_000;
/// Longest tracking number, in characters.
pub const MAX_TRACKING_NUMBER_CHARS: usize = 100;

/// Which field of an event breaks its contract, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ContractViolation {
    /// The field's path in the body (`items[1].quantity`).
    pub field: String,
    pub problem: String,
}

fn violation(field: impl Into<String>, problem: impl Into<String>) -> ContractViolation {
    ContractViolation {
        field: field.into(),
        problem: problem.into(),
    }
}

/// An event checked against its contract.
pub trait Validate {
    /// `Ok` when every bound holds; else the first field that breaks one.
    fn validate(&self) -> Result<(), ContractViolation>;
}

/// Checks `items` (at least `min_lines` of them) and returns their total in cents.
pub fn check_lines(items: &[LineItem], min_lines: usize) -> Result<i64, ContractViolation> {
    if items.len() < min_lines {
        return Err(violation("items", format!("at least {min_lines} line(s)")));
    }
    if items.len() > MAX_LINES {
        return Err(violation("items", format!("at most {MAX_LINES} lines")));
    }
    let mut seen = HashSet::with_capacity(items.len());
    let mut total: i64 = 0;
    for (i, line) in items.iter().enumerate() {
        if !is_valid_id(&line.sku) {
            return Err(violation(format!("items[{i}].sku"), ID_RULE));
        }
        if !seen.insert(line.sku.as_str()) {
            return Err(violation(
                format!("items[{i}].sku"),
                format!("{:?} appears twice", line.sku),
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(violation(
                format!("items[{i}].quantity"),
                format!("{} is not 1 to {MAX_QUANTITY}", line.quantity),
            ));
        }
        if !(1..=MAX_UNIT_PRICE_CENTS).contains(&line.unit_price_cents) {
            return Err(violation(
                format!("items[{i}].unit_price_cents"),
                format!(
                    "{} is not 1 to {MAX_UNIT_PRICE_CENTS}",
                    line.unit_price_cents
                ),
            ));
        }
        total = line
            .unit_price_cents
            .checked_mul(i64::from(line.quantity))
            .and_then(|line_total| total.checked_add(line_total))
            .ok_or_else(|| violation("items", "the total overflows"))?;
    }
    Ok(total)
}

fn check_id(field: &str, id: &str) -> Result<(), ContractViolation> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(violation(field, ID_RULE))
    }
}

/// `stated` must be the lines' `total`: a producer never sends another.
fn check_sum(field: &str, stated: i64, total: i64) -> Result<(), ContractViolation> {
    if stated == total {
        Ok(())
    } else {
        Err(violation(
            field,
            format!("{stated} is not the lines' total {total}"),
        ))
    }
}

impl Validate for OrderCreated {
    fn validate(&self) -> Result<(), ContractViolation> {
        check_id("customer_id", &self.customer_id)?;
        let total = check_lines(&self.items, 1)?;
        check_sum("total_cents", self.total_cents, total)
    }
}

impl Validate for OrderConfirmed {
    fn validate(&self) -> Result<(), ContractViolation> {
        Ok(())
    }
}

impl Validate for OrderCancelled {
    fn validate(&self) -> Result<(), ContractViolation> {
        Ok(())
    }
}

impl Validate for OrderShipped {
    fn validate(&self) -> Result<(), ContractViolation> {
        if is_short_printable(&self.tracking_number, MAX_TRACKING_NUMBER_CHARS) {
            Ok(())
        } else {
            Err(violation(
                "tracking_number",
                format!(
                    "must be 1 to {MAX_TRACKING_NUMBER_CHARS} characters, none of them a control character"
                ),
            ))
        }
    }
}

impl Validate for PaymentCompleted {
    fn validate(&self) -> Result<(), ContractViolation> {
        check_id("customer_id", &self.customer_id)?;
        let total = check_lines(&self.items, 1)?;
        check_sum("amount_cents", self.amount_cents, total)
    }
}

impl Validate for PaymentFailed {
    fn validate(&self) -> Result<(), ContractViolation> {
        Ok(())
    }
}

impl Validate for PaymentRefunded {
    fn validate(&self) -> Result<(), ContractViolation> {
        if self.amount_cents < 0 {
            return Err(violation("amount_cents", "is negative"));
        }
        if self.payment_id.is_none() && self.amount_cents != 0 {
            return Err(violation(
                "payment_id",
                "is null, yet money was refunded (only a zero refund has no payment)",
            ));
        }
        Ok(())
    }
}

impl Validate for StockReserved {
    fn validate(&self) -> Result<(), ContractViolation> {
        check_lines(&self.items, 1).map(drop)
    }
}

impl Validate for StockReservationFailed {
    fn validate(&self) -> Result<(), ContractViolation> {
        check_id("sku", &self.sku)
    }
}

impl Validate for StockReleased {
    /// Empty when nothing was held.
    fn validate(&self) -> Result<(), ContractViolation> {
        check_lines(&self.items, 0).map(drop)
    }
}

impl Validate for OrderEvent {
    fn validate(&self) -> Result<(), ContractViolation> {
        match self {
            OrderEvent::Created(e) => e.validate(),
            OrderEvent::Confirmed(e) => e.validate(),
            OrderEvent::Cancelled(e) => e.validate(),
            OrderEvent::Shipped(e) => e.validate(),
        }
    }
}

impl Validate for PaymentEvent {
    fn validate(&self) -> Result<(), ContractViolation> {
        match self {
            PaymentEvent::Completed(e) => e.validate(),
            PaymentEvent::Failed(e) => e.validate(),
            PaymentEvent::Refunded(e) => e.validate(),
        }
    }
}

impl Validate for InventoryEvent {
    fn validate(&self) -> Result<(), ContractViolation> {
        match self {
            InventoryEvent::Reserved(e) => e.validate(),
            InventoryEvent::ReservationFailed(e) => e.validate(),
            InventoryEvent::Released(e) => e.validate(),
        }
    }
}

impl Validate for SagaEvent {
    fn validate(&self) -> Result<(), ContractViolation> {
        match self {
            SagaEvent::Order(e) => e.validate(),
            SagaEvent::Payment(e) => e.validate(),
            SagaEvent::Inventory(e) => e.validate(),
        }
    }
}

#[cfg(test)]
mod tests;
