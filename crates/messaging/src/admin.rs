//! Creating and listing topics. The broker's auto-create is off, so the scripts and
//! `sagactl topics create` are the only way topics come to be.

use std::time::Duration;

use contracts::topics::TopicSpec;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::KafkaConfig;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating or configuring topic {topic} failed: {code}")]
    Create {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("the metadata task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// What happened to one topic on [`ensure_topics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Created,
    AlreadyExisted,
}

/// How a new topic is replicated: `factor` copies, `min_in_sync` of them acknowledging
/// each write (the producers send `acks=all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replication {
    pub factor: i32,
    pub min_in_sync: i32,
}

impl Replication {
    /// From the cluster's size, as `scripts/infra` sets up its brokers: three copies
    /// where there are three brokers, two of them in sync for a write, so one broker
    /// may be lost without losing an acknowledged message or refusing writes. A single
    /// broker gets one copy.
    pub fn for_cluster(brokers: usize) -> Self {
        let factor = brokers.clamp(1, 3) as i32;
        Self {
            factor,
            min_in_sync: if factor >= 3 { 2 } else { 1 },
        }
    }
}

/// Creates every topic that does not exist yet, replicated as the cluster's size
/// allows ([`Replication::for_cluster`]); existing ones are left alone.
pub async fn ensure_topics(
    kafka: &KafkaConfig,
    topics: &[TopicSpec],
) -> Result<Vec<(String, Ensured)>, AdminError> {
    let admin: AdminClient<DefaultClientContext> = kafka.client().create()?;
    let replication = Replication::for_cluster(broker_count(kafka).await?);
    let max_bytes: Vec<String> = topics
        .iter()
        .map(|t| t.max_message_bytes.to_string())
        .collect();
    let min_in_sync = replication.min_in_sync.to_string();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&max_bytes)
        .map(|(topic, max_bytes)| {
            NewTopic::new(
                &topic.name,
                topic.partitions,
                TopicReplication::Fixed(replication.factor),
            )
            .set("max.message.bytes", max_bytes)
            .set("min.insync.replicas", &min_in_sync)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let results = admin.create_topics(&new_topics, &options).await?;
    let ensured = results
        .into_iter()
        .map(|result| match result {
            Ok(topic) => Ok((topic, Ensured::Created)),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                Ok((topic, Ensured::AlreadyExisted))
            }
            Err((topic, code)) => Err(AdminError::Create { topic, code }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    wait_until_listed(kafka, topics.iter().map(|t| t.name.clone()).collect()).await?;
    Ok(ensured)
}

/// How many brokers the cluster has, from its metadata.
async fn broker_count(kafka: &KafkaConfig) -> Result<usize, AdminError> {
    let consumer: BaseConsumer = kafka.client().create()?;
    let metadata =
        tokio::task::spawn_blocking(move || consumer.fetch_metadata(None, TIMEOUT)).await??;
    Ok(metadata.brokers().len())
}

/// Deletes topics (benchmarks and tests clean up after themselves).
pub async fn delete_topics(kafka: &KafkaConfig, topics: &[&str]) -> Result<(), AdminError> {
    let admin: AdminClient<DefaultClientContext> = kafka.client().create()?;
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    for result in admin.delete_topics(topics, &options).await? {
        result.map_err(|(topic, code)| AdminError::Create { topic, code })?;
    }
    Ok(())
}

/// Sets one configuration entry of a topic (e.g. `max.message.bytes`).
pub async fn set_topic_config(
    kafka: &KafkaConfig,
    topic: &str,
    key: &str,
    value: &str,
) -> Result<(), AdminError> {
    let admin: AdminClient<DefaultClientContext> = kafka.client().create()?;
    let change = AlterConfig::new(ResourceSpecifier::Topic(topic)).set(key, value);
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    for result in admin.alter_configs(&[change], &options).await? {
        result.map_err(|(_, code)| AdminError::Create {
            topic: topic.to_owned(),
            code,
        })?;
    }
    Ok(())
}

/// Waits until the brokers' metadata lists every topic with its partitions, so a
/// client started right after creation sees them.
async fn wait_until_listed(kafka: &KafkaConfig, names: Vec<String>) -> Result<(), AdminError> {
    let consumer: BaseConsumer = kafka.client().create()?;
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let metadata = consumer.fetch_metadata(None, TIMEOUT)?;
            let listed = names.iter().all(|name| {
                metadata
                    .topics()
                    .iter()
                    .any(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
            });
            if listed || std::time::Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await?
}

/// A topic as the broker describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: usize,
}

/// Every topic on the cluster but Kafka's internal ones, sorted by name.
pub async fn list_topics(kafka: &KafkaConfig) -> Result<Vec<TopicInfo>, AdminError> {
    let consumer: BaseConsumer = kafka.client().create()?;
    let metadata =
        tokio::task::spawn_blocking(move || consumer.fetch_metadata(None, TIMEOUT)).await??;
    let mut topics: Vec<TopicInfo> = metadata
        .topics()
        .iter()
        .filter(|topic| !topic.name().starts_with("__"))
        .map(|topic| TopicInfo {
            name: topic.name().to_owned(),
            partitions: topic.partitions().len(),
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

/// `consumer.committed_offsets`, retried for up to `within` while the group coordinator
/// moves or loads, or the broker is away: right after a broker restart these are the
/// answer for a few seconds, and an operator's command should wait them out, not fail.
pub fn committed_offsets_patiently<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    partitions: &rdkafka::TopicPartitionList,
    within: Duration,
) -> Result<rdkafka::TopicPartitionList, KafkaError> {
    let deadline = std::time::Instant::now() + within;
    let mut wait = Duration::from_millis(200);
    loop {
        match consumer.committed_offsets(partitions.clone(), Duration::from_secs(10)) {
            Err(err) if is_passing(&err) && std::time::Instant::now() + wait < deadline => {
                tracing::debug!(error = %err, "The group coordinator is not ready; retrying.");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            answer => return answer,
        }
    }
}

/// Errors that say "not now" rather than "no": a coordinator moving or loading, a
/// broker away.
pub fn is_passing(err: &KafkaError) -> bool {
    matches!(
        err.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::OperationTimedOut
        )
    )
}

#[cfg(test)]
mod tests {
    use super::Replication;

    #[test]
    fn replication_follows_the_cluster_size() {
        let r = |factor, min_in_sync| Replication {
            factor,
            min_in_sync,
        };
        assert_eq!(Replication::for_cluster(0), r(1, 1));
        assert_eq!(Replication::for_cluster(1), r(1, 1));
        assert_eq!(Replication::for_cluster(2), r(2, 1));
        assert_eq!(Replication::for_cluster(3), r(3, 2));
        assert_eq!(Replication::for_cluster(7), r(3, 2));
    }
}
