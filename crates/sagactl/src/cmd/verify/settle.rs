//! Whether the saga has settled: no outbox backlog, no consumer lag, no pending order
//! or compensation. What still moves when `--settle` runs out is a violation.

use std::collections::HashMap;
use std::time::Duration;

use contracts::topics::SUBSCRIPTIONS;
use messaging::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;

/// What still moves: outbox backlogs, consumer lag, pending orders and compensations.
pub(super) async fn unsettled(
    kafka: &KafkaConfig,
    groups: &[String; 3],
    orders: &PgPool,
    payments: &PgPool,
    inventory: &PgPool,
) -> anyhow::Result<Vec<String>> {
    let mut moving = Vec::new();
    for (name, pool) in [
        ("orders", orders),
        ("payments", payments),
        ("inventory", inventory),
    ] {
        let backlog = outbox::admin::backlog(pool).await?.total();
        if backlog > 0 {
            moving.push(format!("{name} outbox backlog {backlog}"));
        }
    }
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM order_view WHERE status = 'pending'")
            .fetch_one(orders)
            .await?;
    if pending > 0 {
        moving.push(format!("{pending} orders pending"));
    }
    let compensating: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM order_view WHERE status = 'cancelled'
         AND (compensation->>'payment' = 'pending' OR compensation->>'stock' = 'pending')",
    )
    .fetch_one(orders)
    .await?;
    if compensating > 0 {
        moving.push(format!("{compensating} compensations pending"));
    }
    let kafka = kafka.clone();
    let groups = groups.clone();
    let lags = tokio::task::spawn_blocking(move || consumer_lags(&kafka, &groups)).await??;
    for (group, lag) in lags {
        if lag > 0 {
            moving.push(format!("consumer group {group} lags {lag} messages"));
        }
    }
    Ok(moving)
}

/// Messages not yet committed by each service's group on the topics it consumes.
fn consumer_lags(kafka: &KafkaConfig, groups: &[String; 3]) -> anyhow::Result<Vec<(String, i64)>> {
    let timeout = Duration::from_secs(10);
    // The groups run under these names, in the order of `SUBSCRIPTIONS`' services.
    let subscriptions = groups
        .iter()
        .zip(SUBSCRIPTIONS)
        .map(|(group, (_, topics))| (group.as_str(), topics));
    let mut lags = Vec::new();
    for (group, topics) in subscriptions {
        let mut client = kafka.client();
        client
            .set("group.id", group)
            .set("enable.auto.commit", "false");
        let consumer: BaseConsumer = client.create()?;
        let mut list = TopicPartitionList::new();
        let mut highs = HashMap::new();
        for topic in topics.iter().map(|t| kafka.topic(t)) {
            let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                let (_, high) = consumer.fetch_watermarks(&topic, partition.id(), timeout)?;
                highs.insert((topic.clone(), partition.id()), high);
                list.add_partition(&topic, partition.id());
            }
        }
        let committed = messaging::admin::committed_offsets_patiently(
            &consumer,
            &list,
            Duration::from_secs(60),
        )?;
        let lag: i64 = committed
            .elements()
            .iter()
            .map(|element| {
                let high = highs[&(element.topic().to_owned(), element.partition())];
                match element.offset() {
                    Offset::Offset(offset) => (high - offset).max(0),
                    _ => high,
                }
            })
            .sum();
        lags.push((group.to_owned(), lag));
    }
    Ok(lags)
}
