//! `sagactl topics empty --yes`: deletes every record of the saga's topics (saga,
//! `.retry` and `.dlq`) and moves the stack's consumer groups and DLQ cursors to the new
//! start, so a reset stack's log agrees with its fresh databases (`scripts/dev reset`).
//!
//! Records are deleted (the Admin API's DeleteRecords), topics are not recreated: a
//! topic deletion completes asynchronously in the broker, and a topic created again
//! too soon races it. Offsets are committed from outside the groups, which the broker
//! accepts only from an empty group: a service stopped a moment ago is still a static
//! member until its session times out (10 s), so the command waits for that.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use contracts::topics::{SERVICES, all_topics};
use messaging::KafkaConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub(crate) struct EmptyArgs {
    /// Really delete every record of the saga's topics.
    #[arg(long)]
    yes: bool,
    /// Consumer groups moved to the new start (with their `sagactl-dlq.<group>` DLQ
    /// cursors); the services' groups when omitted.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// How long to wait for a group's last member to go (seconds).
    #[arg(long, default_value_t = 30)]
    wait: u64,
}

pub(crate) async fn run(kafka: &KafkaConfig, args: EmptyArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.yes,
        "this deletes every record of the saga's topics: say --yes"
    );
    let partitions = tokio::task::spawn_blocking({
        let kafka = kafka.clone();
        move || stack_partitions(&kafka)
    })
    .await??;
    let admin: AdminClient<DefaultClientContext> = kafka.client().create()?;
    let mut everything = TopicPartitionList::new();
    for (topic, partition) in &partitions {
        everything.add_partition_offset(topic, *partition, Offset::End)?;
    }
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let deleted = admin.delete_records(&everything, &options).await?;
    for element in deleted.elements() {
        element
            .error()
            .with_context(|| format!("deleting records of {}", element.topic()))?;
    }
    println!("deleted the records of {} partitions", deleted.count());
    let mut groups = args.groups.clone();
    if groups.is_empty() {
        groups = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    }
    let groups: Vec<String> = groups
        .iter()
        .flat_map(|g| [g.clone(), format!("sagactl-dlq.{g}")])
        .collect();
    let kafka = kafka.clone();
    let wait = Duration::from_secs(args.wait);
    tokio::task::spawn_blocking(move || {
        for group in &groups {
            let moved = move_to_start(&kafka, group, &partitions, wait)?;
            println!("{group}: {moved} committed offsets moved to the new start");
        }
        anyhow::Ok(())
    })
    .await?
}

/// Every partition of the saga's topics that exists.
fn stack_partitions(kafka: &KafkaConfig) -> anyhow::Result<Vec<(String, i32)>> {
    let client: BaseConsumer = kafka.client().create()?;
    let mut partitions = Vec::new();
    for spec in all_topics() {
        let topic = kafka.topic(&spec.name);
        let metadata = client.fetch_metadata(Some(&topic), TIMEOUT)?;
        for listed in metadata.topics().iter().filter(|t| t.error().is_none()) {
            partitions.extend(listed.partitions().iter().map(|p| (topic.clone(), p.id())));
        }
    }
    Ok(partitions)
}

/// Commits the log start offset (where the deleted records end) for every partition
/// `group` has an offset on, once the group has no member; cursor metadata goes too.
fn move_to_start(
    kafka: &KafkaConfig,
    group: &str,
    partitions: &[(String, i32)],
    wait: Duration,
) -> anyhow::Result<usize> {
    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let deadline = Instant::now() + wait;
    loop {
        // Right after a broker (or the cluster) started, the group's coordinator may
        // still be loading its offsets.
        let listed = match consumer.fetch_group_list(Some(group), TIMEOUT) {
            Err(err) if messaging::admin::is_passing(&err) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            listed => listed?,
        };
        let busy = listed
            .groups()
            .iter()
            .find(|g| !g.members().is_empty() || !["Empty", "Dead", ""].contains(&g.state()));
        let Some(busy) = busy else { break };
        anyhow::ensure!(
            Instant::now() < deadline,
            "group {group} still has {} member(s) ({}): stop them first",
            busy.members().len(),
            busy.state()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        list.add_partition(topic, *partition);
    }
    let committed =
        messaging::admin::committed_offsets_patiently(&consumer, &list, Duration::from_secs(30))?;
    let mut moved = TopicPartitionList::new();
    for element in committed.elements() {
        if !matches!(element.offset(), Offset::Offset(_)) {
            continue;
        }
        let (low, _) = consumer.fetch_watermarks(element.topic(), element.partition(), TIMEOUT)?;
        moved.add_partition_offset(element.topic(), element.partition(), Offset::Offset(low))?;
    }
    if moved.count() > 0 {
        consumer
            .commit(&moved, CommitMode::Sync)
            .with_context(|| format!("committing the new start for {group}"))?;
    }
    Ok(moved.count())
}
