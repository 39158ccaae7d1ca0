//! After `scripts/scenarios/all.sh` ran against a stack: every message the services put
//! on the saga, `.retry` and `.dlq` topics since `AUDIT_SINCE_MS` carries its envelope
//! and a causation chain back to its order's first event. `scripts/test` runs it right
//! after the scenarios; ignored otherwise, since it needs them first.

#[tokio::test]
#[ignore = "run by scripts/test after the scenarios"]
async fn every_message_of_the_scenarios_carries_its_envelope_and_chain() -> anyhow::Result<()> {
    let since: i64 = std::env::var("AUDIT_SINCE_MS")?.parse()?;
    let kafka = test_support::kafka()
        .with_topic_prefix(std::env::var("KAFKA_TOPIC_PREFIX").unwrap_or_default());
    let mut topics: Vec<String> = contracts::topics::all_topics()
        .into_iter()
        .map(|t| kafka.topic(&t.name))
        .collect();
    topics.sort();
    let audited = saga_tests::audit::audit_messages(&kafka, topics, Some(since)).await?;
    assert!(
        audited >= 30,
        "the scenarios produced only {audited} messages since {since}"
    );
    eprintln!(
        "audit: {audited} messages since the scenarios began, every one with its envelope and causation chain"
    );
    Ok(())
}
