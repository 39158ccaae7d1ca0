//! Dead letters: poison, unsupported versions and handler failures land in the DLQ
//! with the original bytes and every DLQ header; unhandled types are skipped.

use contracts::OrderId;
use contracts::events::TopicEvent;
use messaging::headers::{event_headers, to_owned_headers};

use crate::support::{Fail, Fixture, TestHandler, metadata_for, order_created, until};

pub use test_support::harness::Dead;

/// The first `count` messages of `<group>.dlq`.
pub async fn read_dlq(group: &str, count: usize) -> anyhow::Result<Vec<Dead>> {
    test_support::harness::read_dlq(&test_support::kafka(), group, count).await
}

const DLQ_HEADERS: [&str; 9] = [
    "dlq-original-topic",
    "dlq-original-partition",
    "dlq-original-offset",
    "dlq-consumer-group",
    "dlq-error-class",
    "dlq-error",
    "dlq-attempts",
    "dlq-first-failed-at",
    "dlq-last-failed-at",
];

#[tokio::test]
async fn poison_unsupported_versions_and_failing_handlers_land_in_the_dlq_and_nothing_blocks()
-> anyhow::Result<()> {
    let fixture = Fixture::new("dlq_classes", 1).await?;
    let (handler, _) = TestHandler::new();

    // 1. Poison: headers fine, body not JSON.
    let poison_order = OrderId::new();
    let event = order_created(poison_order);
    let meta = metadata_for(&event);
    fixture
        .send(
            b"{not json",
            &poison_order.to_string(),
            event_headers(&meta, &Default::default()),
        )
        .await?;
    // 2. Poison: no ce_id.
    let mut headers: Vec<(String, String)> = meta
        .to_headers()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    headers.retain(|(k, _)| k != "ce_id");
    fixture
        .send(&event.encode(), "no-ce-id", to_owned_headers(headers))
        .await?;
    // 3. A handled type at an unknown version.
    let v9_order = OrderId::new();
    let v9 = order_created(v9_order);
    let mut v9_meta = metadata_for(&v9);
    v9_meta.event_type = contracts::EventType::new("order.created", 9);
    fixture
        .send(
            &v9.encode(),
            &v9_order.to_string(),
            event_headers(&v9_meta, &Default::default()),
        )
        .await?;
    // 4. A handler that always fails.
    let failing = OrderId::new();
    handler.fail(failing, Fail::Always);
    let failing_meta = fixture.send_created(failing).await?;
    // 5. A type this service does not handle: skipped, not dead-lettered.
    let confirmed = contracts::OrderEvent::Confirmed(contracts::events::OrderConfirmed {
        order_id: OrderId::new(),
    });
    fixture
        .send(
            &confirmed.encode(),
            "skipped",
            event_headers(&metadata_for(&confirmed), &Default::default()),
        )
        .await?;
    // 6. A healthy message behind them all: the partition is not blocked.
    let healthy = OrderId::new();
    fixture.send_created(healthy).await?;

    let running = fixture.start(fixture.config(), handler.clone())?;
    until(30, "the healthy message behind the bad ones", async || {
        Ok(fixture.effects(healthy).await? == 1)
    })
    .await?;
    let mut dead = read_dlq(&fixture.group, 4).await?;
    running.stop().await?;
    // The DLQ has several partitions: put the copies back in their original order.
    dead.sort_by_key(|d| {
        d.header("dlq-original-offset")
            .unwrap()
            .parse::<i64>()
            .unwrap()
    });

    for message in &dead {
        for name in DLQ_HEADERS {
            assert!(
                message.header(name).is_some(),
                "{name} missing on a dead letter"
            );
        }
        assert_eq!(
            message.header("dlq-original-topic"),
            Some(fixture.topic.clone())
        );
        assert_eq!(
            message.header("dlq-consumer-group"),
            Some(fixture.group.clone())
        );
    }
    let classes: Vec<String> = dead
        .iter()
        .map(|d| d.header("dlq-error-class").unwrap())
        .collect();
    assert_eq!(
        classes,
        ["poison", "poison", "unsupported-version", "handler"]
    );
    assert_eq!(dead[0].payload, b"{not json", "original bytes kept");
    assert_eq!(dead[0].key, poison_order.to_string().as_bytes());
    assert_eq!(
        dead[2].header("ce_type"),
        Some("order.created.v9".to_owned()),
        "original headers kept"
    );
    assert_eq!(
        dead[3].header("ce_id"),
        Some(failing_meta.event_id.to_string())
    );
    assert_eq!(
        dead[3].header("dlq-attempts"),
        Some("4".to_owned()),
        "one try and three retries"
    );
    assert!(
        dead[3]
            .header("dlq-error")
            .unwrap()
            .contains("told to fail")
    );
    assert_eq!(handler.attempts(failing), 4);
    assert_eq!(fixture.effects(failing).await?, 0);
    fixture.finish().await
}

#[tokio::test]
async fn a_dead_letter_the_broker_refuses_becomes_a_stub_and_nothing_pauses() -> anyhow::Result<()>
{
    let fixture = Fixture::new("dlq_stub", 1).await?;
    // A DLQ that takes less than the source topic: the copy of a large poison message
    // is refused by the broker, as a 4 MiB `.retry` message's copy is by a 4 MiB DLQ.
    let dlq = contracts::topics::dlq_topic(&fixture.group);
    test_support::set_topic_max_message_bytes(&dlq, 64 * 1024).await?;
    let (handler, _) = TestHandler::new();
    let poison = OrderId::new();
    let meta = metadata_for(&order_created(poison));
    // Random bytes: the producer compresses, and a repeated byte would fit after all.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let body: Vec<u8> = (0..200 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fixture
        .send(
            &body,
            &poison.to_string(),
            event_headers(&meta, &Default::default()),
        )
        .await?;
    let healthy = OrderId::new();
    fixture.send_created(healthy).await?;

    let running = fixture.start(fixture.config(), handler)?;
    until(
        30,
        "the healthy message behind the refused copy",
        async || Ok(fixture.effects(healthy).await? == 1),
    )
    .await?;
    assert!(!running.health.is_paused(), "no outage for a refused copy");
    let dead = read_dlq(&fixture.group, 1).await?;
    running.stop().await?;

    let stub = &dead[0];
    assert!(stub.payload.is_empty(), "a stub carries no body");
    assert_eq!(stub.key, poison.to_string().as_bytes());
    assert_eq!(stub.header("ce_id"), Some(meta.event_id.to_string()));
    assert_eq!(stub.header("dlq-error-class").as_deref(), Some("poison"));
    assert_eq!(
        stub.header("dlq-original-size"),
        Some(body.len().to_string())
    );
    let sha: String = messaging::inbox::body_sha256(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stub.header("dlq-body-sha256"), Some(sha));
    assert!(
        stub.header("dlq-body-omitted")
            .is_some_and(|why| why.contains("refused")),
        "{:?}",
        stub.header("dlq-body-omitted")
    );
    fixture.finish().await
}
