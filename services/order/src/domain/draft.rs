//! A new order's input, validated: the bounds of DESIGN.md §4, with the offending
//! field named so the HTTP layer can say which one.

use std::collections::HashSet;

use contracts::ids::{ID_RULE, is_valid_id};
use contracts::{Currency, LineItem};

// One set of bounds for what the API accepts and what consumers check events against.
pub use contracts::validate::{MAX_LINES, MAX_QUANTITY, MAX_UNIT_PRICE_CENTS};

/// An order ready to be created: every bound checked, the total computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDraft {
    pub customer_id: String,
    pub items: Vec<LineItem>,
    pub currency: Currency,
    pub total_cents: i64,
}

/// Why a draft is refused, and which field is to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DraftError {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> DraftError {
    DraftError {
        field: field.into(),
        message: message.into(),
    }
}

/// Raw input, as parsed from a request (quantities and prices as wide integers, so that
/// out-of-range values are reported, not truncated).
#[derive(Debug, Clone)]
pub struct RawLine {
    pub sku: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

impl OrderDraft {
    pub fn parse(customer_id: &str, items: &[RawLine], currency: &str) -> Result<Self, DraftError> {
        let customer_id = customer_id.trim();
        if !is_valid_id(customer_id) {
            return Err(refuse("customer_id", ID_RULE));
        }
        let currency = match currency {
            "EUR" => Currency::Eur,
            _ => return Err(refuse("currency", "only EUR is accepted")),
        };
        if items.is_empty() {
            return Err(refuse("items", "at least one line is required"));
        }
        if items.len() > MAX_LINES {
            return Err(refuse("items", format!("at most {MAX_LINES} lines")));
        }
        let mut seen = HashSet::new();
        let mut lines = Vec::with_capacity(items.len());
        let mut total: i64 = 0;
        for (i, line) in items.iter().enumerate() {
            let sku = line.sku.trim();
            if !is_valid_id(sku) {
                return Err(refuse(format!("items[{i}].sku"), ID_RULE));
            }
            if !seen.insert(sku.to_owned()) {
                return Err(refuse(
                    format!("items[{i}].sku"),
                    format!("{sku} appears twice"),
                ));
            }
            let quantity = u32::try_from(line.quantity)
                .ok()
                .filter(|q| (1..=MAX_QUANTITY).contains(q))
                .ok_or_else(|| {
                    refuse(
                        format!("items[{i}].quantity"),
                        format!("must be 1 to {MAX_QUANTITY}"),
                    )
                })?;
            if !(1..=MAX_UNIT_PRICE_CENTS).contains(&line.unit_price_cents) {
                return Err(refuse(
                    format!("items[{i}].unit_price_cents"),
                    format!("must be 1 to {MAX_UNIT_PRICE_CENTS}"),
                ));
            }
            total = line
                .unit_price_cents
                .checked_mul(i64::from(quantity))
                .and_then(|line_total| total.checked_add(line_total))
                .ok_or_else(|| refuse("items", "the total overflows"))?;
            lines.push(LineItem {
                sku: sku.to_owned(),
                quantity,
                unit_price_cents: line.unit_price_cents,
            });
        }
        Ok(Self {
            customer_id: customer_id.to_owned(),
            items: lines,
            currency,
            total_cents: total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: i64, unit_price_cents: i64) -> RawLine {
        RawLine {
            sku: sku.to_owned(),
            quantity,
            unit_price_cents,
        }
    }

    fn field_of(result: Result<OrderDraft, DraftError>) -> String {
        result.unwrap_err().field
    }

    #[test]
    fn a_valid_draft_computes_its_total() {
        let draft =
            OrderDraft::parse("c-rich", &[line("a", 2, 1299), line("b", 1, 4500)], "EUR").unwrap();
        assert_eq!(draft.total_cents, 7098);
        assert_eq!(draft.items.len(), 2);
    }

    #[test]
    fn every_bound_names_its_field() {
        assert_eq!(
            field_of(OrderDraft::parse("", &[line("a", 1, 1)], "EUR")),
            "customer_id"
        );
        assert_eq!(field_of(OrderDraft::parse("c", &[], "EUR")), "items");
        assert_eq!(
            field_of(OrderDraft::parse("c", &[line("a", 1, 1)], "USD")),
            "currency"
        );
        assert_eq!(
            field_of(OrderDraft::parse("c", &[line("a", 0, 1)], "EUR")),
            "items[0].quantity"
        );
        assert_eq!(
            field_of(OrderDraft::parse("c", &[line("a", 10_001, 1)], "EUR")),
            "items[0].quantity"
        );
        assert_eq!(
            field_of(OrderDraft::parse("c", &[line("a", -1, 1)], "EUR")),
            "items[0].quantity"
        );
        assert_eq!(
            field_of(OrderDraft::parse("c", &[line("a", 1, 0)], "EUR")),
            "items[0].unit_price_cents"
        );
        assert_eq!(
            field_of(OrderDraft::parse(
                "c",
                &[line("a", 1, 1_000_000_001)],
                "EUR"
            )),
            "items[0].unit_price_cents"
        );
        assert_eq!(
            field_of(OrderDraft::parse(
                "c",
                &[line("a", 1, 1), line("a", 1, 1)],
                "EUR"
            )),
            "items[1].sku"
        );
        let many: Vec<RawLine> = (0..101).map(|i| line(&format!("s{i}"), 1, 1)).collect();
        assert_eq!(field_of(OrderDraft::parse("c", &many, "EUR")), "items");
    }

    #[test]
    fn the_largest_order_does_not_overflow() {
        let lines: Vec<RawLine> = (0..100)
            .map(|i| line(&format!("s{i}"), 10_000, 1_000_000_000))
            .collect();
        let draft = OrderDraft::parse("c", &lines, "EUR").unwrap();
        assert_eq!(draft.total_cents, 100 * 10_000 * 1_000_000_000);
    }
}
