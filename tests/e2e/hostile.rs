//! Hostile messages on every topic the services consume, interleaved with real sagas on
//! the same partitions: random bytes, truncated JSON, malformed, unknown and unsupported
//! `ce_type`s, missing headers, bodies up to the topic's size limit, and a `ce_id` that
//! was handled before, sent again with another body. No consumer panics or stalls; every
//! poison message lands in the dead letter topic of each group that reads it, with the
//! right class, and nothing else does; unknown types are skipped; every saga finishes
//! and `sagactl verify` is clean.

use std::collections::BTreeSet;
use std::time::Duration;

use contracts::EventType;
use contracts::headers::{self as h, dlq};
use contracts::topics::{self, INVENTORY_EVENTS, ORDER_EVENTS, PAYMENT_EVENTS};
use messaging::EventProducer;
use messaging::headers::to_owned_headers;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use crate::concurrent::order_mix;
use crate::stack::Stack;

/// One hostile message, before it is aimed at a topic and an order.
#[derive(Debug, Clone)]
enum Hostile {
    RandomBody(Vec<u8>),
    /// The valid body cut at this index (modulo its length).
    Truncated(usize),
    MalformedType(String),
    /// A well-formed type no service handles: skipped.
    UnknownType(String),
    UnsupportedVersion(u32),
    MissingHeader(&'static str),
    NoHeaders,
    /// A body just under the topic's `max.message.bytes`.
    Oversized,
}

/// The headers a consumer cannot do without (`EventMetadata::from_headers`).
const REQUIRED: [&str; 6] = [
    h::CE_ID,
    h::CE_TYPE,
    h::CE_SOURCE,
    h::CE_TIME,
    h::CORRELATION_ID,
    h::CAUSATION_ID,
];

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Hostile::RandomBody),
        3 => any::<usize>().prop_map(Hostile::Truncated),
        2 => "[a-zA-Z0-9._ -]{0,24}"
            .prop_filter("malformed", |t| EventType::parse(t).is_err())
            .prop_map(Hostile::MalformedType),
        2 => "[a-z]{1,12}".prop_map(|name| Hostile::UnknownType(format!("zz_{name}"))),
        2 => (2u32..10_000).prop_map(Hostile::UnsupportedVersion),
        2 => prop::sample::select(REQUIRED.to_vec()).prop_map(Hostile::MissingHeader),
        1 => Just(Hostile::NoHeaders),
        1 => Just(Hostile::Oversized),
    ]
}

/// A consumed topic: the type every group reading it handles, a valid body of that
/// type, and those groups (DESIGN.md §2).
struct Target {
    topic: &'static str,
    event_type: &'static str,
    fixture: &'static str,
    readers: &'static [usize],
}

/// Group indexes into `[order, payment, inventory]`.
const TARGETS: [Target; 3] = [
    Target {
        topic: ORDER_EVENTS,
        event_type: "order.cancelled",
        fixture: include_str!("../../contracts/fixtures/order.cancelled.v1.json"),
        readers: &[1, 2],
    },
    Target {
        topic: PAYMENT_EVENTS,
        event_type: "payment.completed",
        fixture: include_str!("../../contracts/fixtures/payment.completed.v1.json"),
        readers: &[0, 2],
    },
    Target {
        topic: INVENTORY_EVENTS,
        event_type: "stock.reserved",
        fixture: include_str!("../../contracts/fixtures/stock.reserved.v1.json"),
        readers: &[0],
    },
];

/// A message the test sends, and the dead letter class it must get (None: skipped).
struct Sent {
    topic: String,
    partition: i32,
    offset: i64,
    class: Option<&'static str>,
    readers: &'static [usize],
}

/// `(group, original topic, partition, offset, class)` of one dead letter.
type Letter = (String, String, i32, i64, String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_dead_lettered_or_skipped_and_every_saga_still_finishes()
-> anyhow::Result<()> {
    let stack = Stack::start("e2e_hostile", false, Duration::from_secs(60)).await?;
    let groups = [
        stack.order.group.clone(),
        stack.payment.group.clone(),
        stack.inventory.group.clone(),
    ];
    let client = reqwest::Client::new();

    // Real sagas first, so the hostile messages share their partitions while they run.
    let mut orders = Vec::new();
    for i in 0..30 {
        let (customer, sku, _) = order_mix(i);
        let created: Value = client
            .post(format!("{}/orders", stack.order.url))
            .json(&json!({
                "customer_id": customer,
                "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 990}],
                "currency": "EUR"
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        orders.push(created["order_id"].as_str().unwrap_or_default().to_owned());
    }

    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| uuid::Uuid::now_v7().as_u64_pair().1);
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150);
    eprintln!("hostile: {cases} messages, FUZZ_SEED={seed}");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = (hostile(), 0..TARGETS.len(), 0..orders.len());
    let mut plan = Vec::with_capacity(cases);
    for _ in 0..cases {
        let (hostile, target, order) = strategy
            .new_tree(&mut runner)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .current();
        let filler = if matches!(hostile, Hostile::Oversized) {
            incompressible(topics::SAGA_TOPIC_MAX_BYTES - 16 * 1024, seed)
        } else {
            Vec::new()
        };
        plan.push((hostile, target, orders[order].clone(), filler));
    }

    let producer = EventProducer::new(&stack.kafka)?;
    let mut sent = Vec::new();
    for (hostile, target, order, filler) in plan {
        let target = &TARGETS[target];
        let (headers, body, class) = aim(&hostile, target, &order, filler);
        let topic = stack.kafka.topic(target.topic);
        let delivered = producer
            .send_raw(&topic, order.as_bytes(), &body, to_owned_headers(headers))
            .await?;
        sent.push(Sent {
            topic,
            partition: delivered.partition,
            offset: delivered.offset,
            class,
            readers: target.readers,
        });
    }

    let outcomes = stack
        .await_terminal(
            &orders.iter().map(String::as_str).collect::<Vec<_>>(),
            Duration::from_secs(120),
        )
        .await?;
    eprintln!("hostile: 30 orders, outcomes {outcomes:?}");

    // An event handled before, sent again under its id with another body: a conflict.
    let payment_events = stack.kafka.topic(PAYMENT_EVENTS);
    let kafka = stack.kafka.clone();
    let topic = payment_events.clone();
    let real =
        tokio::task::spawn_blocking(move || saga_tests::audit::read_all(&kafka, &[topic], None))
            .await??;
    let handled: Vec<_> = real
        .into_iter()
        .filter(|h| h.get(h::CE_TYPE).map(String::as_str) == Some("payment.completed.v1"))
        .filter(|h| !h.contains_key(h::TEST_INJECTED))
        .take(3)
        .collect();
    anyhow::ensure!(handled.len() == 3, "too few completed payments to reuse");
    for original in handled {
        let mut headers: Vec<(String, String)> = original.into_iter().collect();
        headers.push((h::TEST_INJECTED.to_owned(), "true".to_owned()));
        let body = TARGETS[1].fixture.as_bytes();
        let delivered = producer
            .send_raw(&payment_events, b"reused", body, to_owned_headers(headers))
            .await?;
        sent.push(Sent {
            topic: payment_events.clone(),
            partition: delivered.partition,
            offset: delivered.offset,
            class: Some("poison"),
            readers: TARGETS[1].readers,
        });
    }

    let expected: BTreeSet<Letter> = sent
        .iter()
        .filter_map(|s| Some((s, s.class?)))
        .flat_map(|(s, class)| {
            s.readers.iter().map(|reader| {
                (
                    groups[*reader].clone(),
                    s.topic.clone(),
                    s.partition,
                    s.offset,
                    class.to_owned(),
                )
            })
        })
        .collect();
    let skipped = sent.iter().filter(|s| s.class.is_none()).count();
    eprintln!(
        "hostile: {} sent, {} dead letters expected, {skipped} to be skipped",
        sent.len(),
        expected.len()
    );

    let dlq_topics: Vec<String> = groups
        .iter()
        .map(|g| stack.kafka.topic(&topics::dlq_topic(g)))
        .collect();
    let letters =
        saga_tests::eventually(Duration::from_secs(120), Duration::from_secs(1), || async {
            let letters = dead_letters(&stack, dlq_topics.clone()).await?;
            Ok(expected.is_subset(&letters).then_some(letters))
        })
        .await
        .map_err(|e| {
            e.context(format!(
                "the dead letters never covered the {} expected",
                expected.len()
            ))
        })?;
    let unexpected: Vec<_> = letters.difference(&expected).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected dead letters: {unexpected:?}"
    );

    // A conflicting message is undone whole: the state row its lock would have made
    // for the body's (unknown) order is not left behind.
    let stray: serde_json::Value = serde_json::from_str(TARGETS[1].fixture)?;
    let stray = uuid::Uuid::parse_str(stray["order_id"].as_str().unwrap_or_default())?;
    for (database, table) in [
        (&stack.order.database, "order_saga_locks"),
        (&stack.inventory.database, "order_reservations"),
    ] {
        let pool = sqlx::PgPool::connect(&database.url).await?;
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE order_id = $1"))
                .bind(stray)
                .fetch_one(&pool)
                .await?;
        pool.close().await;
        assert_eq!(
            rows, 0,
            "{table} kept a row for the conflicting message's order"
        );
    }

    // Still alive and serving, every consumer included.
    for service in [&stack.order, &stack.payment, &stack.inventory] {
        assert!(service.is_running(), "{} stopped", service.group);
        let ready = client.get(format!("{}/readyz", service.url)).send().await?;
        assert_eq!(ready.status(), 200, "{} is not ready", service.group);
    }
    let (clean, report) = tokio::task::block_in_place(|| stack.verify())?;
    assert!(clean, "sagactl verify found violations:\n{report}");
    stack.stop().await
}

/// Headers, body and expected dead letter class of `hostile` sent to `target`'s topic
/// under `order`'s key.
fn aim(
    hostile: &Hostile,
    target: &Target,
    order: &str,
    filler: Vec<u8>,
) -> (Vec<(String, String)>, Vec<u8>, Option<&'static str>) {
    let mut valid: Value = serde_json::from_str(target.fixture).expect("fixture");
    valid["order_id"] = json!(order);
    let valid = serde_json::to_vec(&valid).expect("json");
    let id = || uuid::Uuid::now_v7().to_string();
    let mut headers: Vec<(String, String)> = vec![
        (h::CE_SPECVERSION.into(), h::SPECVERSION.into()),
        (h::CE_ID.into(), id()),
        (h::CE_TYPE.into(), format!("{}.v1", target.event_type)),
        (h::CE_SOURCE.into(), "hostile-test".into()),
        (h::CE_TIME.into(), chrono::Utc::now().to_rfc3339()),
        (h::CONTENT_TYPE.into(), h::JSON_CONTENT_TYPE.into()),
        (h::CORRELATION_ID.into(), id()),
        (h::CAUSATION_ID.into(), id()),
        (h::TEST_INJECTED.into(), "true".into()),
    ];
    let set_type = |headers: &mut Vec<(String, String)>, value: String| {
        headers
            .iter_mut()
            .filter(|(k, _)| k == h::CE_TYPE)
            .for_each(|(_, v)| *v = value.clone());
    };
    let domain = target.event_type.split('.').next().expect("domain");
    let (body, class) = match hostile {
        Hostile::RandomBody(bytes) => (bytes.clone(), Some("poison")),
        Hostile::Truncated(at) => (valid[..at % valid.len()].to_vec(), Some("poison")),
        Hostile::MalformedType(t) => {
            set_type(&mut headers, t.clone());
            (valid, Some("poison"))
        }
        Hostile::UnknownType(name) => {
            set_type(&mut headers, format!("{domain}.{name}.v1"));
            (valid, None)
        }
        Hostile::UnsupportedVersion(v) => {
            set_type(&mut headers, format!("{}.v{v}", target.event_type));
            (valid, Some("unsupported-version"))
        }
        Hostile::MissingHeader(name) => {
            headers.retain(|(k, _)| k != name);
            (valid, Some("poison"))
        }
        Hostile::NoHeaders => {
            headers.clear();
            (valid, Some("poison"))
        }
        Hostile::Oversized => (filler, Some("poison")),
    };
    (headers, body, class)
}

/// Every dead letter of the deployment's groups, by where it came from.
async fn dead_letters(stack: &Stack, topics: Vec<String>) -> anyhow::Result<BTreeSet<Letter>> {
    let kafka = stack.kafka.clone();
    let messages =
        tokio::task::spawn_blocking(move || saga_tests::audit::read_all(&kafka, &topics, None))
            .await??;
    Ok(messages
        .into_iter()
        .map(|h| {
            let get = |name: &str| h.get(name).cloned().unwrap_or_default();
            (
                get(dlq::CONSUMER_GROUP),
                get(dlq::ORIGINAL_TOPIC),
                get(dlq::ORIGINAL_PARTITION).parse().unwrap_or(-1),
                get(dlq::ORIGINAL_OFFSET).parse().unwrap_or(-1),
                get(dlq::ERROR_CLASS),
            )
        })
        .collect())
}

/// `len` pseudo-random bytes (xorshift): compression cannot shrink them, so the broker
/// sees the full size too.
fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
