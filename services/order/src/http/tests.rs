//! The generated document states the bounds the domain enforces.

use serde_json::Value;

use crate::domain::decide::MAX_TRACKING_NUMBER_CHARS;
use crate::domain::draft::{MAX_LINES, MAX_QUANTITY, MAX_UNIT_PRICE_CENTS};

fn property(document: &Value, schema: &str, field: &str) -> Value {
    document["components"]["schemas"][schema]["properties"][field].clone()
}

#[test]
fn the_documented_bounds_are_the_domains() {
    let document = serde_json::to_value(super::api()).expect("a document");
    let id_chars = contracts::ids::MAX_ID_CHARS as u64;
    assert_eq!(
        property(&document, "CreateOrder", "items")["maxItems"],
        MAX_LINES as u64
    );
    assert_eq!(
        property(&document, "CreateOrder", "customer_id")["maxLength"],
        id_chars
    );
    assert_eq!(property(&document, "Line", "sku")["maxLength"], id_chars);
    assert_eq!(
        property(&document, "Line", "quantity")["maximum"],
        MAX_QUANTITY
    );
    assert_eq!(
        property(&document, "Line", "unit_price_cents")["maximum"],
        MAX_UNIT_PRICE_CENTS
    );
    assert_eq!(
        property(&document, "ShipOrder", "tracking_number")["maxLength"],
        MAX_TRACKING_NUMBER_CHARS as u64
    );
}
