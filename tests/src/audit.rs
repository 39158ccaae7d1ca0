//! The message audit: every message the services produced carries its
//! envelope, and its causation chain leads back to its order's first event.

use std::collections::HashMap;
use std::time::Duration;

use messaging::KafkaConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Headers every produced message carries (DESIGN.md §3).
pub const REQUIRED: [&str; 9] = [
    "ce_specversion",
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_time",
    "content-type",
    "correlation-id",
    "causation-id",
    "traceparent",
];

/// Reads `topics` from the beginning (messages at or after `since_ms` when given) and
/// checks every message not marked `test-injected`; returns how many it checked. Panics,
/// naming the message, on the first that breaks the rules.
pub async fn audit_messages(
    kafka: &KafkaConfig,
    topics: Vec<String>,
    since_ms: Option<i64>,
) -> anyhow::Result<usize> {
    let kafka = kafka.clone();
    let messages =
        tokio::task::spawn_blocking(move || read_all(&kafka, &topics, since_ms)).await??;
    // Sagas that began in the window: traffic of older sagas on a shared cluster (a
    // late compensation of an earlier run, say) has its chain outside the window.
    let began: std::collections::HashSet<&str> = messages
        .iter()
        .filter(|h| h.get("ce_type").map(String::as_str) == Some("order.created.v1"))
        .filter_map(|h| h.get("correlation-id").map(String::as_str))
        .collect();
    let produced: Vec<&HashMap<String, String>> = messages
        .iter()
        .filter(|h| h.get("test-injected").map(String::as_str) != Some("true"))
        .filter(|h| {
            // A message without a correlation id stays in: the rules below catch it.
            since_ms.is_none()
                || h.get("correlation-id")
                    .is_none_or(|c| began.contains(c.as_str()))
        })
        .collect();
    let by_id: HashMap<&str, &HashMap<String, String>> = produced
        .iter()
        .filter_map(|h| Some((h.get("ce_id")?.as_str(), *h)))
        .collect();
    for headers in &produced {
        for name in REQUIRED {
            assert!(
                headers.contains_key(name),
                "a message lacks {name}: {headers:?}"
            );
        }
        let mut current = *headers;
        for _ in 0..64 {
            if current["ce_type"] == "order.created.v1" {
                assert_eq!(
                    current["causation-id"], current["correlation-id"],
                    "the first event's cause is the saga's id: {current:?}"
                );
                break;
            }
            current = by_id
                .get(current["causation-id"].as_str())
                .unwrap_or_else(|| {
                    panic!("the causation chain from {headers:?} breaks at {current:?}")
                });
            assert_eq!(
                current["correlation-id"], headers["correlation-id"],
                "one correlation id along a chain"
            );
        }
        assert_eq!(
            current["ce_type"], "order.created.v1",
            "the chain ends at the order's first event"
        );
    }
    Ok(produced.len())
}

/// The headers of every message in `topics` (those at or after `since_ms` when given),
/// read from the beginning up to the high watermarks of this moment.
pub fn read_all(
    kafka: &KafkaConfig,
    topics: &[String],
    since_ms: Option<i64>,
) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let timeout = Duration::from_secs(10);
    let consumer: BaseConsumer = kafka.consumer(&crate_unique("audit")).create()?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    let mut remaining = 0;
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
            remaining += (high - low).max(0);
            assignment.add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning)?;
        }
    }
    let mut messages = Vec::new();
    if remaining == 0 {
        return Ok(messages);
    }
    consumer.assign(&assignment)?;
    while remaining > 0 {
        let Some(message) = consumer.poll(timeout) else {
            break;
        };
        let message = message?;
        remaining -= 1;
        if let (Some(since), Some(at)) = (since_ms, message.timestamp().to_millis())
            && at < since
        {
            continue;
        }
        let headers = message
            .headers()
            .map(|h| messaging::headers::as_text(h).into_iter().collect())
            .unwrap_or_default();
        messages.push(headers);
    }
    Ok(messages)
}

fn crate_unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}
