//! Each rule, broken once on an otherwise consistent world.

use super::*;

const CONFIRMED: u128 = 1;
const CANCELLED: u128 = 2;
const SHIPPED: u128 = 3;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn lines(sku: &str, quantity: i64) -> Vec<Line> {
    vec![Line {
        sku: sku.to_owned(),
        quantity,
    }]
}

fn order(n: u128, status: &str) -> Order {
    Order {
        id: id(n),
        status: status.to_owned(),
        total_cents: 300,
        lines: lines("sku-a", 1),
        compensated: status == "cancelled",
    }
}

fn entry(n: u128, movement: Movement) -> LedgerEntry {
    LedgerEntry {
        order: id(n),
        customer: "c-1".to_owned(),
        movement,
        amount_cents: 300,
    }
}

fn reservation(status: &str) -> Reservation {
    Reservation {
        status: status.to_owned(),
        lines: lines("sku-a", 1),
    }
}

/// One confirmed, one shipped and one cancelled-after-payment order, all consistent.
fn settled() -> Facts {
    Facts {
        orders: vec![
            order(CONFIRMED, "confirmed"),
            order(CANCELLED, "cancelled"),
            order(SHIPPED, "shipped"),
        ],
        payments: [
            (id(CONFIRMED), "captured"),
            (id(CANCELLED), "refunded"),
            (id(SHIPPED), "captured"),
        ]
        .into_iter()
        .map(|(order, status)| (order, status.to_owned()))
        .collect(),
        ledger: vec![
            entry(CONFIRMED, Movement::Charge),
            entry(CANCELLED, Movement::Charge),
            entry(CANCELLED, Movement::Refund),
            entry(SHIPPED, Movement::Charge),
        ],
        reservations: [
            (id(CONFIRMED), reservation("reserved")),
            (id(CANCELLED), reservation("released")),
            (id(SHIPPED), reservation("shipped")),
        ]
        .into_iter()
        .collect(),
        accounts: vec![Account {
            customer: "c-1".to_owned(),
            opening_cents: 1_000,
            balance_cents: 400,
        }],
        stock: vec![Stock {
            sku: "sku-a".to_owned(),
            supplied: 10,
            available: 8,
            reserved: 1,
            shipped: 1,
        }],
    }
}

fn violations(change: impl FnOnce(&mut Facts)) -> Vec<String> {
    let mut facts = settled();
    change(&mut facts);
    check(&facts).into_iter().map(|v| v.to_string()).collect()
}

fn assert_caught(change: impl FnOnce(&mut Facts), expected: &str) {
    let found = violations(change);
    assert!(
        found.iter().any(|v| v.contains(expected)),
        "expected a violation containing {expected:?}, found {found:?}"
    );
}

#[test]
fn a_settled_world_breaks_nothing() {
    assert_eq!(check(&settled()), Vec::new());
}

#[test]
fn a_pending_order_is_a_violation() {
    assert_caught(|f| f.orders[0].status = "pending".into(), "still pending");
}

#[test]
fn an_unknown_order_status_is_a_violation() {
    assert_caught(
        |f| f.orders[0].status = "lost".into(),
        "unknown status lost",
    );
}

#[test]
fn a_confirmed_order_needs_exactly_one_capture_of_its_total() {
    assert_caught(
        |f| f.ledger.push(entry(CONFIRMED, Movement::Charge)),
        "in 2 charge(s)",
    );
    assert_caught(|f| f.orders[0].total_cents = 200, "(total 200)");
    assert_caught(
        |f| {
            f.payments.insert(id(CONFIRMED), "declined".into());
        },
        "payment Some(\"declined\")",
    );
}

#[test]
fn a_confirmed_order_needs_its_own_stock_held() {
    assert_caught(
        |f| {
            f.reservations.remove(&id(CONFIRMED));
        },
        "confirmed but its stock is None",
    );
    assert_caught(
        |f| f.reservations.get_mut(&id(CONFIRMED)).unwrap().lines = lines("sku-a", 2),
        "confirmed but its stock is Some(\"reserved\")",
    );
    assert_caught(
        |f| f.reservations.get_mut(&id(SHIPPED)).unwrap().status = "reserved".into(),
        "shipped but its stock is Some(\"reserved\")",
    );
}

#[test]
fn a_cancelled_order_moves_no_net_money_holds_no_stock_and_finishes_compensating() {
    assert_caught(
        |f| {
            f.ledger
                .retain(|e| !(e.order == id(CANCELLED) && e.movement == Movement::Refund))
        },
        "cancelled but net money moved",
    );
    assert_caught(
        |f| f.reservations.get_mut(&id(CANCELLED)).unwrap().status = "reserved".into(),
        "cancelled but stock is reserved",
    );
    assert_caught(
        |f| f.orders[1].compensated = false,
        "compensation is pending",
    );
}

#[test]
fn money_or_stock_held_for_an_unknown_order_is_a_violation() {
    assert_caught(
        |f| {
            f.orders.remove(0);
        },
        "does not know",
    );
    assert_caught(
        |f| {
            f.orders.remove(1);
            f.ledger
                .retain(|e| e.movement == Movement::Charge || e.order != id(CANCELLED));
        },
        "money held (300 charged, 0 refunded)",
    );
}

#[test]
fn money_is_conserved_per_account() {
    assert_caught(
        |f| f.accounts[0].balance_cents += 1,
        "money not conserved for c-1",
    );
    assert_caught(
        |f| f.ledger[0].customer = "c-2".into(),
        "c-2, who has no account",
    );
}

#[test]
fn stock_is_conserved_and_matches_the_reservations() {
    assert_caught(
        |f| f.stock[0].available -= 1,
        "stock of sku-a not conserved",
    );
    assert_caught(
        |f| {
            f.stock[0].available -= 1;
            f.stock[0].reserved += 1;
        },
        "sku-a: 2 reserved but reservations say 1",
    );
    assert_caught(
        |f| {
            f.stock[0].available = -1;
            f.stock[0].supplied = 1;
        },
        "stock of sku-a not conserved: -1+1+1 != 1",
    );
    assert_caught(
        |f| f.reservations.get_mut(&id(SHIPPED)).unwrap().lines = lines("sku-x", 1),
        "1 of sku-x shipped, a SKU with no stock row",
    );
}
