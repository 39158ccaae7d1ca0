//! The operator CLI as users run it: the real `sagactl` binary against the real broker.

use std::process::{Command, Output};
use std::time::Duration;

use messaging::EventProducer;
use messaging::headers::to_owned_headers;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;

use crate::services::binary;

fn sagactl(args: &[&str]) -> anyhow::Result<Output> {
    let path = binary("sagactl");
    anyhow::ensure!(path.exists(), "{} is not built", path.display());
    Ok(Command::new(path)
        .arg("--kafka")
        .arg(test_support::kafka_bootstrap_servers())
        .args(args)
        .output()?)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn sagactl_lists_the_saga_topics() -> anyhow::Result<()> {
    let output = sagactl(&["topics", "list"])?;
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    for topic in contracts::topics::all_topics() {
        assert!(
            text.contains(&topic.name),
            "{} missing from:\n{text}",
            topic.name
        );
    }
    Ok(())
}

/// A dead letter as the runtime writes it, marked as injected by a test.
fn dead_letter_headers(group: &str, class: &str, offset: i64) -> Vec<(String, String)> {
    [
        ("ce_type", "order.created.v1".to_owned()),
        ("ce_id", uuid::Uuid::now_v7().to_string()),
        ("test-injected", "true".to_owned()),
        ("dlq-original-topic", "order-events".to_owned()),
        ("dlq-original-partition", "0".to_owned()),
        ("dlq-original-offset", offset.to_string()),
        ("dlq-consumer-group", group.to_owned()),
        ("dlq-error-class", class.to_owned()),
        ("dlq-error", "injected by a test".to_owned()),
        ("dlq-attempts", "4".to_owned()),
        (
            "dlq-first-failed-at",
            "2026-11-27T08:00:00.000000Z".to_owned(),
        ),
        (
            "dlq-last-failed-at",
            "2026-11-27T08:00:01.000000Z".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test]
async fn sagactl_dlq_lists_replays_and_discards_with_a_reason() -> anyhow::Result<()> {
    let group = test_support::unique_name("cli-group");
    test_support::create_group_topics(&group).await?;
    let producer = EventProducer::new(&test_support::kafka())?;
    let dlq = contracts::topics::dlq_topic(&group);
    for (class, offset) in [("handler", 11), ("poison", 12)] {
        let headers = to_owned_headers(dead_letter_headers(&group, class, offset));
        producer
            .send_raw(&dlq, b"order-key", b"{\"order_id\":1}", headers)
            .await?;
    }

    let listed = sagactl(&["dlq", "list", "--group", &group])?;
    assert!(listed.status.success(), "{listed:?}");
    let text = stdout(&listed);
    assert!(text.contains("2 unsettled"), "{text}");
    assert!(
        text.contains("order-events/0/11") && text.contains("handler"),
        "{text}"
    );

    let replayed = sagactl(&[
        "dlq",
        "replay",
        "--group",
        &group,
        "--filter",
        "class=handler",
    ])?;
    assert!(replayed.status.success(), "{replayed:?}");
    let retry: StreamConsumer = test_support::kafka()
        .consumer(&test_support::unique_name("cli-retry"))
        .create()?;
    retry.subscribe(&[&contracts::topics::retry_topic(&group)])?;
    let message = tokio::time::timeout(Duration::from_secs(30), retry.recv()).await??;
    assert_eq!(
        message.payload(),
        Some(&b"{\"order_id\":1}"[..]),
        "the original bytes are replayed"
    );
    let headers = message.headers().expect("headers");
    assert!(headers.iter().any(|h| h.key == "dlq-replay-of"));
    assert!(
        !headers.iter().any(|h| h.key == "dlq-error-class"),
        "DLQ headers are not replayed"
    );

    let refused = sagactl(&["dlq", "discard", "--group", &group, "--all"])?;
    assert!(
        !refused.status.success(),
        "discard without --reason must be refused"
    );
    let discarded = sagactl(&[
        "dlq",
        "discard",
        "--group",
        &group,
        "--all",
        "--reason",
        "smoke test",
    ])?;
    assert!(discarded.status.success(), "{discarded:?}");

    let listed = sagactl(&["dlq", "list", "--group", &group])?;
    assert!(
        stdout(&listed).contains("0 unsettled"),
        "{}",
        stdout(&listed)
    );
    let all = stdout(&sagactl(&["dlq", "list", "--group", &group, "--all"])?);
    assert_eq!(
        all.lines().filter(|l| l.contains(" settled ")).count(),
        2,
        "{all}"
    );
    messaging::admin::delete_topics(
        &test_support::kafka(),
        &[&dlq, &contracts::topics::retry_topic(&group)],
    )
    .await?;
    Ok(())
}
