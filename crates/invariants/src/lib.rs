//! The saga's invariants (DESIGN.md §1) as one pure function over neutral facts.
//!
//! `sagactl verify` reads the [`Facts`] from the three databases and the simulation
//! (`tests/simulation`) derives them from its model; both call [`check`], so the
//! simulation tests exactly the rules that operators run. Statuses are spelled as the
//! services store them (their domain enums' `as_str`, the order view's snake_case).

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// What the three services hold once the saga has settled.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The order service's view, one entry per order.
    pub orders: Vec<Order>,
    /// The payment service's status per order.
    pub payments: BTreeMap<Uuid, String>,
    /// Every charge and refund the payment service booked.
    pub ledger: Vec<LedgerEntry>,
    /// The inventory service's reservation per order.
    pub reservations: BTreeMap<Uuid, Reservation>,
    pub accounts: Vec<Account>,
    pub stock: Vec<Stock>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: Uuid,
    /// `pending`, `confirmed`, `shipped` or `cancelled`.
    pub status: String,
    pub total_cents: i64,
    pub lines: Vec<Line>,
    /// Whether its compensation has finished: meaningful for a cancelled order only.
    pub compensated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    pub sku: String,
    pub quantity: i64,
}

impl From<&contracts::LineItem> for Line {
    fn from(item: &contracts::LineItem) -> Self {
        Self {
            sku: item.sku.clone(),
            quantity: i64::from(item.quantity),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    Charge,
    Refund,
}

#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub order: Uuid,
    pub customer: String,
    pub movement: Movement,
    pub amount_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Reservation {
    /// The inventory service's spelling: `reserved` and `shipped` hold stock.
    pub status: String,
    pub lines: Vec<Line>,
}

impl Reservation {
    fn holds_stock(&self) -> bool {
        matches!(self.status.as_str(), "reserved" | "shipped")
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub customer: String,
    pub opening_cents: i64,
    pub balance_cents: i64,
}

#[derive(Debug, Clone)]
pub struct Stock {
    pub sku: String,
    /// The opening stock plus every restock.
    pub supplied: i64,
    pub available: i64,
    pub reserved: i64,
    pub shipped: i64,
}

/// One broken invariant; `order` is `None` for money and stock as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub order: Option<Uuid>,
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.order {
            Some(order) => write!(f, "order {order}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// Money moved for one order: (charged, refunded, number of charges).
#[derive(Debug, Clone, Copy, Default)]
struct Money {
    charged: i64,
    refunded: i64,
    charges: u32,
}

/// Every invariant, order by order, then money and stock as a whole.
pub fn check(facts: &Facts) -> Vec<Violation> {
    let mut money: BTreeMap<Uuid, Money> = BTreeMap::new();
    for entry in &facts.ledger {
        let order = money.entry(entry.order).or_default();
        match entry.movement {
            Movement::Charge => {
                order.charged += entry.amount_cents;
                order.charges += 1;
            }
            Movement::Refund => order.refunded += entry.amount_cents,
        }
    }
    let mut violations = Vec::new();
    for order in &facts.orders {
        let money = money.get(&order.id).copied().unwrap_or_default();
        violations.extend(
            order_violations(order, money, facts)
                .into_iter()
                .map(|what| Violation {
                    order: Some(order.id),
                    what,
                }),
        );
    }
    let known: BTreeSet<Uuid> = facts.orders.iter().map(|o| o.id).collect();
    for (
        order,
        Money {
            charged, refunded, ..
        },
    ) in &money
    {
        if !known.contains(order) && charged != refunded {
            violations.push(Violation {
                order: Some(*order),
                what: format!("money held ({charged} charged, {refunded} refunded) for an order the order service does not know"),
            });
        }
    }
    for (order, reservation) in &facts.reservations {
        if !known.contains(order) && reservation.holds_stock() {
            violations.push(Violation {
                order: Some(*order),
                what: format!(
                    "stock {} for an order the order service does not know",
                    reservation.status
                ),
            });
        }
    }
    violations.extend(money_conserved(facts));
    violations.extend(stock_conserved(facts));
    violations
}

/// What is wrong with one order, given the money moved for it.
fn order_violations(order: &Order, money: Money, facts: &Facts) -> Vec<String> {
    let mut wrong = Vec::new();
    let reservation = facts.reservations.get(&order.id);
    let payment = facts.payments.get(&order.id).map(String::as_str);
    let Money {
        charged,
        refunded,
        charges,
    } = money;
    match order.status.as_str() {
        "pending" => wrong.push("still pending".to_owned()),
        status @ ("confirmed" | "shipped") => {
            if charges != 1
                || charged != order.total_cents
                || refunded != 0
                || payment != Some("captured")
            {
                wrong.push(format!(
                    "{status} but captured {charged} in {charges} charge(s), refunded {refunded}, payment {payment:?} (total {})",
                    order.total_cents
                ));
            }
            let held = if status == "shipped" {
                "shipped"
            } else {
                "reserved"
            };
            match reservation {
                Some(r) if r.status == held && same_lines(&r.lines, &order.lines) => {}
                other => wrong.push(format!(
                    "{status} but its stock is {:?}",
                    other.map(|r| r.status.as_str())
                )),
            }
        }
        "cancelled" => {
            if charged != refunded {
                wrong.push(format!(
                    "cancelled but net money moved: charged {charged}, refunded {refunded}"
                ));
            }
            if let Some(r) = reservation.filter(|r| r.holds_stock()) {
                wrong.push(format!("cancelled but stock is {}", r.status));
            }
            if !order.compensated {
                wrong.push("cancelled but its compensation is pending".to_owned());
            }
        }
        other => wrong.push(format!("unknown status {other}")),
    }
    wrong
}

fn same_lines(a: &[Line], b: &[Line]) -> bool {
    let sorted = |lines: &[Line]| {
        let mut lines = lines.to_vec();
        lines.sort();
        lines
    };
    sorted(a) == sorted(b)
}

/// opening − charges + refunds = balance ≥ 0, for every account.
fn money_conserved(facts: &Facts) -> Vec<Violation> {
    let mut moved: BTreeMap<&str, i64> = BTreeMap::new();
    for entry in &facts.ledger {
        *moved.entry(entry.customer.as_str()).or_default() += match entry.movement {
            Movement::Charge => -entry.amount_cents,
            Movement::Refund => entry.amount_cents,
        };
    }
    let mut violations = Vec::new();
    for account in &facts.accounts {
        let expected = account.opening_cents + moved.remove(account.customer.as_str()).unwrap_or(0);
        if account.balance_cents != expected || account.balance_cents < 0 {
            violations.push(whole(format!(
                "money not conserved for {}: balance {}, ledger says {expected}",
                account.customer, account.balance_cents
            )));
        }
    }
    for (customer, amount) in moved {
        violations.push(whole(format!(
            "the ledger moves {amount} for {customer}, who has no account"
        )));
    }
    violations
}

/// available + reserved + shipped = supplied, none below zero, and what is reserved
/// and shipped is what the reservations say, for every SKU.
fn stock_conserved(facts: &Facts) -> Vec<Violation> {
    let mut held: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for reservation in facts.reservations.values().filter(|r| r.holds_stock()) {
        for line in &reservation.lines {
            *held
                .entry((line.sku.as_str(), reservation.status.as_str()))
                .or_default() += line.quantity;
        }
    }
    let mut violations = Vec::new();
    let known: BTreeSet<&str> = facts.stock.iter().map(|s| s.sku.as_str()).collect();
    for ((sku, status), quantity) in &held {
        if !known.contains(sku) {
            violations.push(whole(format!(
                "{quantity} of {sku} {status}, a SKU with no stock row"
            )));
        }
    }
    for Stock {
        sku,
        supplied,
        available,
        reserved,
        shipped,
    } in &facts.stock
    {
        if available + reserved + shipped != *supplied
            || [available, reserved, shipped].iter().any(|n| **n < 0)
        {
            violations.push(whole(format!(
                "stock of {sku} not conserved: {available}+{reserved}+{shipped} != {supplied}"
            )));
        }
        for (column, value) in [("reserved", reserved), ("shipped", shipped)] {
            let expected = held.get(&(sku.as_str(), column)).copied().unwrap_or(0);
            if *value != expected {
                violations.push(whole(format!(
                    "{sku}: {value} {column} but reservations say {expected}"
                )));
            }
        }
    }
    violations
}

fn whole(what: String) -> Violation {
    Violation { order: None, what }
}

#[cfg(test)]
mod tests;
