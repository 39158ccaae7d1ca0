//! The simulated world: three services' deciders, their inboxes, a bus of three
//! single-partition topics, a dead letter queue, and the effects on money and stock.

use std::collections::{BTreeMap, HashSet};

use contracts::{OrderEvent, OrderId, PaymentEvent, SagaEvent};
use invariants::{Facts, Line, Movement};
use inventory_service::domain as inventory;
use order_service::app::to_published;
use order_service::domain::draft::RawLine;
use order_service::domain::{Command, Order, OrderDraft, OrderStatus, decide, evolve};
use order_service::handlers::command_for;
use payment_service::domain as payment;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Order,
    Payment,
    Inventory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Order,
    Payment,
    Inventory,
}

/// Who consumes what, as the services subscribe: `contracts::topics::SUBSCRIPTIONS`,
/// one (service, topic) pair per consumer.
static CONSUMERS: std::sync::LazyLock<Vec<(Service, Topic)>> = std::sync::LazyLock::new(|| {
    use contracts::topics::{
        INVENTORY_EVENTS, INVENTORY_SERVICE, ORDER_EVENTS, ORDER_SERVICE, PAYMENT_EVENTS,
        PAYMENT_SERVICE, SUBSCRIPTIONS,
    };
    let service = |name: &str| match name {
        ORDER_SERVICE => Service::Order,
        PAYMENT_SERVICE => Service::Payment,
        INVENTORY_SERVICE => Service::Inventory,
        other => unreachable!("no such service: {other}"),
    };
    let topic = |name: &str| match name {
        ORDER_EVENTS => Topic::Order,
        PAYMENT_EVENTS => Topic::Payment,
        INVENTORY_EVENTS => Topic::Inventory,
        other => unreachable!("no such saga topic: {other}"),
    };
    SUBSCRIPTIONS
        .iter()
        .flat_map(|(name, topics)| topics.iter().map(move |t| (service(name), topic(t))))
        .collect()
});

#[derive(Debug, Clone)]
struct Message {
    id: u64,
    event: SagaEvent,
}

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    None,
    /// The effect committed, the offset did not: the message comes again.
    CrashBeforeOffsetCommit,
    /// Dead-lettered (no effect, no inbox row); replayed later.
    DeadLetter,
}

/// One step of a schedule, as taken.
#[derive(Debug, Clone)]
pub enum Action {
    Deliver {
        consumer: usize,
        offset: usize,
        fault: Fault,
    },
    Replay {
        consumer: usize,
        message: u64,
    },
    DuplicatePublish {
        topic: Topic,
        message: u64,
    },
    Create {
        customer: &'static str,
        sku: &'static str,
        quantity: u32,
    },
    Cancel {
        order: usize,
    },
    Ship {
        order: usize,
    },
    Expire {
        order: usize,
    },
}

impl Action {
    /// A short name, for the coverage counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Deliver {
                fault: Fault::None, ..
            } => "deliver",
            Action::Deliver {
                fault: Fault::CrashBeforeOffsetCommit,
                ..
            } => "crash-before-commit",
            Action::Deliver {
                fault: Fault::DeadLetter,
                ..
            } => "dead-letter",
            Action::Replay { .. } => "replay",
            Action::DuplicatePublish { .. } => "duplicate-publish",
            Action::Create { .. } => "create",
            Action::Cancel { .. } => "cancel",
            Action::Ship { .. } => "ship",
            Action::Expire { .. } => "expire",
        }
    }
}

const CUSTOMERS: [&str; 4] = ["c-rich", "c-poor", "c-declined", "c-unknown"];
const SKUS: [&str; 4] = ["sku-a", "sku-b", "sku-zero", "sku-unknown"];
const MAX_ORDERS: usize = 4;
const PRICE_CENTS: i64 = 300;

pub struct World {
    logs: [Vec<Message>; 3],
    offsets: Vec<usize>,
    dead_letters: Vec<(usize, Message)>,
    inboxes: [HashSet<u64>; 3],
    next_id: u64,
    orders: Vec<OrderId>,
    order_states: BTreeMap<OrderId, Order>,
    payments: BTreeMap<OrderId, payment::PaymentState>,
    reservations: BTreeMap<OrderId, inventory::Reservation>,
    accounts: BTreeMap<String, payment::Account>,
    stock: BTreeMap<String, [i64; 3]>,
    opening_money: BTreeMap<String, i64>,
    opening_stock: BTreeMap<String, i64>,
    /// Every charge and refund, as the payment service's ledger books them.
    ledger: Vec<invariants::LedgerEntry>,
    refunds_enabled: bool,
}

fn topic_index(topic: Topic) -> usize {
    match topic {
        Topic::Order => 0,
        Topic::Payment => 1,
        Topic::Inventory => 2,
    }
}

fn service_index(service: Service) -> usize {
    match service {
        Service::Order => 0,
        Service::Payment => 1,
        Service::Inventory => 2,
    }
}

impl World {
    pub fn new() -> Self {
        let accounts: BTreeMap<String, payment::Account> = [
            ("c-rich", 1_000_000, false),
            ("c-poor", 500, false),
            ("c-declined", 1_000_000, true),
        ]
        .into_iter()
        .map(|(c, balance, declines)| {
            (
                c.to_owned(),
                payment::Account {
                    balance_cents: balance,
                    declines,
                },
            )
        })
        .collect();
        let stock: BTreeMap<String, [i64; 3]> = [("sku-a", 10), ("sku-b", 3), ("sku-zero", 0)]
            .into_iter()
            .map(|(s, n)| (s.to_owned(), [n, 0, 0]))
            .collect();
        Self {
            opening_money: accounts
                .iter()
                .map(|(c, a)| (c.clone(), a.balance_cents))
                .collect(),
            opening_stock: stock.iter().map(|(s, [a, _, _])| (s.clone(), *a)).collect(),
            logs: Default::default(),
            offsets: vec![0; CONSUMERS.len()],
            dead_letters: Vec::new(),
            inboxes: Default::default(),
            next_id: 1,
            orders: Vec::new(),
            order_states: BTreeMap::new(),
            payments: BTreeMap::new(),
            reservations: BTreeMap::new(),
            accounts,
            stock,
            ledger: Vec::new(),
            refunds_enabled: true,
        }
    }

    /// A deliberately broken payment service, to prove the checker can fail.
    pub fn without_refunds(mut self) -> Self {
        self.refunds_enabled = false;
        self
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The actions possible now; deliveries are listed thrice so the saga progresses.
    fn candidates(&self, choice: u64) -> Vec<Action> {
        let mut candidates = Vec::new();
        let fault = match (choice >> 32) % 10 {
            0 => Fault::CrashBeforeOffsetCommit,
            1 => Fault::DeadLetter,
            _ => Fault::None,
        };
        for (consumer, (_, topic)) in CONSUMERS.iter().enumerate() {
            let offset = self.offsets[consumer];
            if offset < self.logs[topic_index(*topic)].len() {
                for _ in 0..3 {
                    candidates.push(Action::Deliver {
                        consumer,
                        offset,
                        fault,
                    });
                }
            }
        }
        for (consumer, message) in &self.dead_letters {
            candidates.push(Action::Replay {
                consumer: *consumer,
                message: message.id,
            });
        }
        for topic in [Topic::Order, Topic::Payment, Topic::Inventory] {
            let log = &self.logs[topic_index(topic)];
            if !log.is_empty() {
                let message = log[((choice >> 16) as usize) % log.len()].id;
                candidates.push(Action::DuplicatePublish { topic, message });
            }
        }
        if self.orders.len() < MAX_ORDERS {
            candidates.push(Action::Create {
                customer: CUSTOMERS[((choice >> 40) % 4) as usize],
                sku: SKUS[((choice >> 44) % 4) as usize],
                quantity: 1 + ((choice >> 48) % 4) as u32,
            });
        }
        // Cancels and deadlines are rarer than the saga's own steps, or few orders would
        // ever get as far as confirmed and shipped.
        let disruptive = (choice >> 56).is_multiple_of(8);
        for order in 0..self.orders.len() {
            candidates.push(Action::Ship { order });
            if disruptive {
                candidates.push(Action::Cancel { order });
                candidates.push(Action::Expire { order });
            }
        }
        candidates
    }

    /// Takes the action `choice` selects among those possible now.
    pub fn step(&mut self, choice: u64) -> Option<Action> {
        let candidates = self.candidates(choice);
        if candidates.is_empty() {
            return None;
        }
        let action = candidates[(choice % candidates.len() as u64) as usize].clone();
        self.apply(&action);
        Some(action)
    }

    fn apply(&mut self, action: &Action) {
        match *action {
            Action::Deliver {
                consumer,
                offset,
                fault,
            } => {
                let (service, topic) = CONSUMERS[consumer];
                let message = self.logs[topic_index(topic)][offset].clone();
                match fault {
                    Fault::None => {
                        self.process(service, &message);
                        self.offsets[consumer] += 1;
                    }
                    Fault::CrashBeforeOffsetCommit => self.process(service, &message),
                    Fault::DeadLetter => {
                        self.dead_letters.push((consumer, message));
                        self.offsets[consumer] += 1;
                    }
                }
            }
            Action::Replay { consumer, message } => {
                if let Some(index) = self
                    .dead_letters
                    .iter()
                    .position(|(c, m)| *c == consumer && m.id == message)
                {
                    let (consumer, message) = self.dead_letters.remove(index);
                    self.process(CONSUMERS[consumer].0, &message);
                }
            }
            Action::DuplicatePublish { topic, message } => {
                let log = &mut self.logs[topic_index(topic)];
                if let Some(copy) = log.iter().find(|m| m.id == message).cloned() {
                    log.push(copy);
                }
            }
            Action::Create {
                customer,
                sku,
                quantity,
                ..
            } => {
                let order_id = OrderId(Uuid::from_u128(self.orders.len() as u128 + 1));
                let line = RawLine {
                    sku: sku.to_owned(),
                    quantity: i64::from(quantity),
                    unit_price_cents: PRICE_CENTS,
                };
                let draft = OrderDraft::parse(customer, &[line], "EUR").expect("a valid draft");
                self.orders.push(order_id);
                self.order_command(order_id, Command::Create { order_id, draft });
            }
            Action::Cancel { order } => {
                self.order_command(self.orders[order], Command::Cancel);
            }
            Action::Ship { order } => {
                let tracking_number = "TRK".to_owned();
                self.order_command(self.orders[order], Command::Ship { tracking_number });
            }
            Action::Expire { order } => {
                self.order_command(self.orders[order], Command::Expire);
            }
        }
    }

    fn publish(&mut self, event: SagaEvent) {
        let topic = match &event {
            SagaEvent::Order(_) => Topic::Order,
            SagaEvent::Payment(_) => Topic::Payment,
            SagaEvent::Inventory(_) => Topic::Inventory,
        };
        let id = self.fresh_id();
        self.logs[topic_index(topic)].push(Message { id, event });
    }

    /// A command on the order aggregate; refused user commands change nothing.
    fn order_command(&mut self, order_id: OrderId, command: Command) -> bool {
        let state = self.order_states.get(&order_id).cloned();
        let Ok(events) = decide(state.as_ref(), command) else {
            return false;
        };
        if events.is_empty() {
            return false;
        }
        let after = events
            .iter()
            .fold(state, evolve)
            .expect("an order after its events");
        for event in &events {
            if let Some(published) = to_published(&after, event) {
                self.publish(SagaEvent::Order(published));
            }
        }
        self.order_states.insert(order_id, after);
        true
    }

    /// One message handled by one service: inbox, decide, effect, announce — as one
    /// transaction, so either all of it happened or none.
    fn process(&mut self, service: Service, message: &Message) {
        if !self.inboxes[service_index(service)].insert(message.id) {
            return; // a duplicate: its effect is already there
        }
        let order_id = message.event.order_id();
        match service {
            Service::Order => {
                if let Some(command) = command_for(&message.event) {
                    self.order_command(order_id, command);
                }
            }
            Service::Payment => self.payment(order_id, &message.event),
            Service::Inventory => self.inventory(order_id, &message.event),
        }
    }

    fn payment(&mut self, order_id: OrderId, event: &SagaEvent) {
        let state = self.payments.get(&order_id).cloned().unwrap_or_default();
        let decision = match event {
            SagaEvent::Order(OrderEvent::Created(created)) => {
                let account = self.accounts.get(&created.customer_id).copied();
                let payment_id = Uuid::from_u128(u128::from(self.fresh_id()));
                payment::on_order_created(&state, created, account, payment_id)
            }
            SagaEvent::Order(OrderEvent::Cancelled(_)) => {
                let decision = payment::on_order_cancelled(&state, order_id);
                if !self.refunds_enabled && matches!(decision, payment::Decision::Refund { .. }) {
                    payment::Decision::Nothing
                } else {
                    decision
                }
            }
            _ => payment::Decision::Nothing,
        };
        match &decision {
            payment::Decision::Charge {
                customer_id,
                amount_cents,
                ..
            } => {
                let account = self
                    .accounts
                    .get_mut(customer_id)
                    .expect("a charged account exists");
                account.balance_cents -= amount_cents;
                assert!(account.balance_cents >= 0, "a balance went negative");
                self.book(order_id, customer_id, Movement::Charge, *amount_cents);
            }
            payment::Decision::Refund {
                customer_id,
                amount_cents,
                ..
            } => {
                self.accounts
                    .get_mut(customer_id)
                    .expect("a refunded account exists")
                    .balance_cents += amount_cents;
                self.book(order_id, customer_id, Movement::Refund, *amount_cents);
            }
            _ => {}
        }
        let announcement = decision.announcement().cloned();
        self.payments
            .insert(order_id, payment::evolve(&state, &decision));
        if let Some(event) = announcement {
            self.publish(SagaEvent::Payment(event));
        }
    }

    fn inventory(&mut self, order_id: OrderId, event: &SagaEvent) {
        let state = self
            .reservations
            .get(&order_id)
            .cloned()
            .unwrap_or_default();
        let decision = match event {
            SagaEvent::Payment(PaymentEvent::Completed(paid)) => {
                let available = paid
                    .items
                    .iter()
                    .map(|l| (l.sku.clone(), self.stock.get(&l.sku).map(|s| s[0])))
                    .collect();
                let reservation_id = Uuid::from_u128(u128::from(self.fresh_id()));
                inventory::on_payment_completed(&state, paid, &available, reservation_id)
            }
            SagaEvent::Order(OrderEvent::Cancelled(_)) => {
                inventory::on_order_cancelled(&state, order_id)
            }
            SagaEvent::Order(OrderEvent::Shipped(_)) => inventory::on_order_shipped(&state),
            _ => inventory::Decision::Nothing,
        };
        let (items, from, to) = match &decision {
            inventory::Decision::Reserve { items, .. } => (items.clone(), 0, 1),
            inventory::Decision::Release { items, .. } => (items.clone(), 1, 0),
            inventory::Decision::Ship { items } => (items.clone(), 1, 2),
            _ => (Vec::new(), 0, 0),
        };
        for line in &items {
            let row = self.stock.get_mut(&line.sku).expect("moved stock exists");
            row[from] -= i64::from(line.quantity);
            row[to] += i64::from(line.quantity);
            assert!(
                row.iter().all(|n| *n >= 0),
                "stock of {} went negative",
                line.sku
            );
        }
        let announcement = decision.announcement().cloned();
        self.reservations
            .insert(order_id, inventory::evolve(&state, &decision));
        if let Some(event) = announcement {
            self.publish(SagaEvent::Inventory(event));
        }
    }

    /// Delivers everything, replays every dead letter and fires every deadline, until
    /// nothing moves: quiescence.
    pub fn drain(&mut self) {
        for _ in 0..1_000 {
            let mut moved = false;
            for (consumer, (service, topic)) in CONSUMERS.iter().enumerate() {
                while self.offsets[consumer] < self.logs[topic_index(*topic)].len() {
                    let message = self.logs[topic_index(*topic)][self.offsets[consumer]].clone();
                    self.process(*service, &message);
                    self.offsets[consumer] += 1;
                    moved = true;
                }
            }
            while let Some((consumer, message)) = self.dead_letters.pop() {
                self.process(CONSUMERS[consumer].0, &message);
                moved = true;
            }
            for order_id in self.orders.clone() {
                moved |= self.order_command(order_id, Command::Expire);
            }
            if !moved {
                return;
            }
        }
        panic!("the simulation did not reach quiescence");
    }

    /// How each order ended (`confirmed`, `shipped`, `cancelled_<reason>`), for coverage.
    pub fn outcomes(&self) -> Vec<String> {
        self.order_states
            .values()
            .map(|order| match (order.status, order.cancel_reason) {
                (OrderStatus::Cancelled, Some(reason)) => format!("cancelled_{reason:?}"),
                (status, _) => format!("{status:?}"),
            })
            .collect()
    }

    fn book(&mut self, order: OrderId, customer: &str, movement: Movement, amount_cents: i64) {
        self.ledger.push(invariants::LedgerEntry {
            order: order.0,
            customer: customer.to_owned(),
            movement,
            amount_cents,
        });
    }

    /// Every invariant of DESIGN.md §1, at quiescence: the same check `sagactl verify`
    /// runs, over the facts the model holds where the services hold their tables.
    pub fn check(&self) -> Result<(), String> {
        let violations = invariants::check(&self.facts());
        if violations.is_empty() {
            return Ok(());
        }
        Err(violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "))
    }

    fn facts(&self) -> Facts {
        let lines = |items: &[contracts::LineItem]| items.iter().map(Line::from).collect();
        Facts {
            orders: self
                .order_states
                .values()
                .map(|order| invariants::Order {
                    id: order.order_id.0,
                    status: contracts::codec::json_name(&order.status).expect("a unit variant"),
                    total_cents: order.total_cents,
                    lines: lines(&order.items),
                    compensated: order.compensation.is_some_and(|c| c.is_complete()),
                })
                .collect(),
            payments: self
                .payments
                .iter()
                .map(|(order, payment)| (order.0, payment.status.as_str().to_owned()))
                .collect(),
            ledger: self.ledger.clone(),
            reservations: self
                .reservations
                .iter()
                .map(|(order, reservation)| {
                    let status = reservation.status.as_str().to_owned();
                    let lines = lines(&reservation.items);
                    (order.0, invariants::Reservation { status, lines })
                })
                .collect(),
            accounts: self
                .accounts
                .iter()
                .map(|(customer, account)| invariants::Account {
                    customer: customer.clone(),
                    opening_cents: self.opening_money[customer],
                    balance_cents: account.balance_cents,
                })
                .collect(),
            stock: self
                .stock
                .iter()
                .map(|(sku, [available, reserved, shipped])| invariants::Stock {
                    sku: sku.clone(),
                    supplied: self.opening_stock[sku],
                    available: *available,
                    reserved: *reserved,
                    shipped: *shipped,
                })
                .collect(),
        }
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("orders", &self.orders.len())
            .finish_non_exhaustive()
    }
}
