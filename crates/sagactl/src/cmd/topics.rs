//! `sagactl topics create|list`.

use clap::Subcommand;
use contracts::topics::{SAGA_TOPICS, all_topics};
use messaging::KafkaConfig;
use messaging::admin::{Ensured, ensure_topics, list_topics};

#[derive(Debug, Subcommand)]
pub(crate) enum TopicsCommand {
    /// Create every topic of the saga that does not exist yet (broker auto-create is off).
    Create,
    /// List the cluster's topics with their partition counts.
    List,
}

pub(crate) async fn run(kafka: &KafkaConfig, command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::Create => {
            for (topic, outcome) in ensure_topics(kafka, &all_topics()).await? {
                let outcome = match outcome {
                    Ensured::Created => "created",
                    Ensured::AlreadyExisted => "already there",
                };
                println!("{topic:<28} {outcome}");
            }
        }
        TopicsCommand::List => {
            println!("{:<28} {:>10}  ROLE", "TOPIC", "PARTITIONS");
            for topic in list_topics(kafka).await? {
                let role = if SAGA_TOPICS.contains(&topic.name.as_str()) {
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
