//! `sagactl topics create|list|empty`.

use clap::Subcommand;
use contracts::topics::{SAGA_TOPICS, TopicSpec, all_topics};
use messaging::KafkaConfig;
use messaging::admin::{Ensured, ensure_topics, list_topics};

#[derive(Debug, Subcommand)]
pub(crate) enum TopicsCommand {
    /// Create every topic of the saga that does not exist yet (broker auto-create is off).
    Create,
    /// List the cluster's topics with their partition counts.
    List,
    /// Delete every record of the saga's topics and move the stack's consumer groups
    /// and DLQ cursors to the new start (a reset; the services must be stopped).
    Empty(super::topics_empty::EmptyArgs),
}

pub(crate) async fn run(kafka: &KafkaConfig, command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::Create => {
            let topics: Vec<_> = all_topics()
                .into_iter()
                .map(|t| TopicSpec {
                    name: kafka.topic(&t.name),
                    ..t
                })
                .collect();
            for (topic, outcome) in ensure_topics(kafka, &topics).await? {
                let outcome = match outcome {
                    Ensured::Created => "created",
                    Ensured::AlreadyExisted => "already there",
                };
                println!("{topic:<28} {outcome}");
            }
        }
        TopicsCommand::Empty(args) => super::topics_empty::run(kafka, args).await?,
        TopicsCommand::List => {
            println!("{:<28} {:>10}  ROLE", "TOPIC", "PARTITIONS");
            for topic in list_topics(kafka).await? {
                let base = topic
                    .name
                    .strip_prefix(kafka.topic_prefix.as_str())
                    .unwrap_or(&topic.name);
                if !topic.name.starts_with(kafka.topic_prefix.as_str()) {
                    continue;
                }
                let role = if SAGA_TOPICS.contains(&base) {
                    "saga"
                } else if topic.name.ends_with(".dlq") {
                    "dead letters"
                } else if topic.name.ends_with(".retry") {
                    "replays"
                } else {
                    ""
                };
                println!("{:<28} {:>10}  {role}", topic.name, topic.partitions);
            }
        }
    }
    Ok(())
}
