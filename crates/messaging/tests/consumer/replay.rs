//! Replaying dead letters: handler failures are processed once after the fix, by the
//! failing group alone; poison comes back and is settled by discarding it.

use contracts::OrderId;
use contracts::events::TopicEvent;
use messaging::dlq::DlqClass;
use messaging::dlq_admin::{DlqAdmin, Selector};
use messaging::headers::event_headers;

use crate::support::{Fail, Fixture, TestHandler, metadata_for, order_created, until};

#[tokio::test]
async fn replayed_handler_failures_apply_once_and_replayed_poison_is_discarded()
-> anyhow::Result<()> {
    let fixture = Fixture::new("dlq_replay", 1).await?;
    let (handler, _) = TestHandler::new();
    let failing = OrderId::new();
    handler.fail(failing, Fail::Always);
    fixture.send_created(failing).await?;
    let poison = OrderId::new();
    let event = order_created(poison);
    fixture
        .send(
            b"\x00\x01 not json",
            &poison.to_string(),
            event_headers(&metadata_for(&event), &Default::default()),
        )
        .await?;
    let healthy = OrderId::new();
    fixture.send_created(healthy).await?;

    // A second group on the same topic, to show a replay reaches the failing group alone.
    let bystander = Fixture::new("dlq_bystander", 1).await?;
    let (bystander_handler, _) = TestHandler::new();
    let bystander_config = messaging::consumer::ConsumerConfig::new(
        bystander.group.clone(),
        &[fixture.topic.as_str()],
    );
    let bystander_running = bystander.start(bystander_config, bystander_handler.clone())?;

    let running = fixture.start(fixture.config(), handler.clone())?;
    until(30, "the healthy order applied", async || {
        Ok(fixture.effects(healthy).await? == 1)
    })
    .await?;
    let admin = DlqAdmin::new(test_support::kafka(), &fixture.group);
    until(30, "two dead letters", async || {
        Ok(admin.depth().await? == 2)
    })
    .await?;

    // The handler is fixed; replay what failed in the handler.
    handler.fix(failing);
    let letters = admin.list(false).await?;
    assert_eq!(letters.len(), 2);
    let handler_failures: Vec<_> = letters
        .iter()
        .filter(|l| {
            Selector {
                class: Some(DlqClass::Handler),
                ..Selector::default()
            }
            .matches(l)
        })
        .cloned()
        .collect();
    assert_eq!(handler_failures.len(), 1);
    admin.replay(&handler_failures, &fixture.producer).await?;
    until(30, "the replayed order applied", async || {
        Ok(fixture.effects(failing).await? == 1)
    })
    .await?;

    // Poison replayed comes back to the DLQ.
    let poison_letters: Vec<_> = admin
        .list(false)
        .await?
        .into_iter()
        .filter(|l| l.class() == Some(DlqClass::Poison))
        .collect();
    assert_eq!(poison_letters.len(), 1);
    admin.replay(&poison_letters, &fixture.producer).await?;
    until(30, "the replayed poison is back", async || {
        Ok(admin
            .list(false)
            .await?
            .iter()
            .any(|l| l.header("dlq-original-topic") == Some(format!("{}.retry", fixture.group))))
    })
    .await?;
    let back = admin.list(false).await?;
    assert_eq!(
        back.len(),
        1,
        "only the returned poison is unsettled: {back:?}"
    );
    assert!(back[0].header("dlq-replay-of").is_some());
    admin
        .discard(&back, "poison cannot be fixed by replaying")
        .await?;
    assert!(
        admin.list(false).await?.is_empty(),
        "nothing unsettled after discard"
    );
    assert_eq!(admin.depth().await?, 0);
    assert_eq!(
        admin.list(true).await?.len(),
        3,
        "settled letters stay listable"
    );

    // Give a stray replay time to arrive anywhere it should not.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    running.stop().await?;
    bystander_running.stop().await?;
    assert_eq!(fixture.effects(failing).await?, 1, "replayed exactly once");
    assert_eq!(
        handler.attempts(failing),
        5,
        "four failures, then the replay"
    );
    assert_eq!(
        bystander_handler.attempts(failing),
        1,
        "the bystander group never saw the replay"
    );
    assert_eq!(event.order_id(), poison);
    bystander.finish().await?;
    fixture.finish().await
}
