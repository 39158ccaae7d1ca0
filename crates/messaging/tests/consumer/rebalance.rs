//! Partitions that move between members of a group while batches are in flight keep
//! each order's events in order, each applied once (DESIGN.md §5). The runtime's
//! assignor is `cooperative-sticky` (see `KafkaConfig::consumer`): when member B joins,
//! member A gives up only the partitions that move, after the batch it is in, and goes
//! on with the others. Then A is killed (`SIGKILL`, a process of its own) in the middle
//! of a batch: its transaction rolls back, and once the group gives up on it (a static
//! member: after its session timeout) B takes its partitions from A's last commit. What
//! A applied after that commit comes to B again, and the inbox skips it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use contracts::events::TopicEvent;
use contracts::{OrderEvent, OrderId, SagaEvent};
use futures_util::future::try_join_all;
use messaging::EventProducer;
use messaging::consumer::{ConsumerConfig, ConsumerRuntime, Envelope, Handler, Outcome};
use messaging::dlq_admin::DlqAdmin;
use messaging::error::HandlerError;
use messaging::headers::event_headers;
use metrics_exporter_prometheus::PrometheusBuilder;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};

use crate::support::{Fixture, metadata_for, order_created, until};

/// Orders, each with its own key; enough that every partition has some.
const ORDERS: usize = 48;
/// Partitions of the topic: with the group's three `.retry` partitions, nine in all, so
/// the member that joins is given at least one of the topic's (four of nine).
const PARTITIONS: i32 = 6;
/// How long the handler works on each message, inside the transaction: batches of a
/// hundred take a while, so a rebalance or a kill finds one in flight.
const WORK: Duration = Duration::from_millis(1);
/// One event per order per round, a round every so often, until told to stop.
const ROUND_EVERY: Duration = Duration::from_millis(150);
/// Where the child process that is member A finds its group, topic and database.
const MEMBER_A: &str = "REBALANCE_TEST_MEMBER_A";

/// Applies the `seq`-th event of an order (carried as its line's quantity) and checks,
/// under the order's lock, that the previous one applied was `seq - 1`.
#[derive(Debug)]
struct SequenceHandler {
    member: &'static str,
}

impl Handler for SequenceHandler {
    fn handles(&self, name: &str) -> bool {
        name == "order.created"
    }

    fn state_table(&self) -> &'static str {
        "test_state"
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, HandlerError> {
        let SagaEvent::Order(OrderEvent::Created(created)) = &envelope.event else {
            return Err(HandlerError::Rejected("not an order.created".to_owned()));
        };
        let seq = created.items[0].quantity as i32;
        tokio::time::sleep(WORK).await;
        // The runtime locked this row before the handler ran.
        let last: i32 = sqlx::query_scalar("SELECT last_seq FROM test_state WHERE order_id = $1")
            .bind(created.order_id.0)
            .fetch_one(&mut *tx)
            .await?;
        if seq != last + 1 {
            sqlx::query("INSERT INTO test_violations (order_id, last_seq, seq, member) VALUES ($1, $2, $3, $4)")
                .bind(created.order_id.0)
                .bind(last)
                .bind(seq)
                .bind(self.member)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE test_state SET last_seq = $2 WHERE order_id = $1")
            .bind(created.order_id.0)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO test_applied (order_id, seq, member, partition, kafka_offset)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(created.order_id.0)
        .bind(seq)
        .bind(self.member)
        .bind(envelope.partition)
        .bind(envelope.offset)
        .execute(&mut *tx)
        .await?;
        Ok(Outcome::Applied)
    }
}

/// Sends round after round (event `seq` of every order, the round awaited before the
/// next, so each order's events are in sequence in its partition) until `stop`; returns
/// the rounds sent and the partitions written.
async fn produce(
    producer: EventProducer,
    topic: String,
    orders: Vec<OrderId>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(u32, BTreeSet<i32>)> {
    let mut partitions = BTreeSet::new();
    let mut seq: u32 = 0;
    while !stop.load(Ordering::SeqCst) {
        seq += 1;
        let sends = orders.iter().map(|order| {
            let OrderEvent::Created(mut created) = order_created(*order) else {
                unreachable!("order_created makes an order.created")
            };
            created.items[0].quantity = seq;
            created.total_cents = created.items[0].unit_price_cents * i64::from(seq);
            let event = OrderEvent::Created(created);
            let headers = event_headers(&metadata_for(&event), &opentelemetry::Context::new());
            let producer = &producer;
            let topic = &topic;
            async move {
                let key = order.to_string();
                producer
                    .send_raw(topic, key.as_bytes(), &event.encode(), headers)
                    .await
            }
        });
        partitions.extend(try_join_all(sends).await?.iter().map(|d| d.partition));
        tokio::time::sleep(ROUND_EVERY).await;
    }
    Ok((seq, partitions))
}

/// The partitions `member` applied events from.
async fn partitions_of(pool: &PgPool, member: &str) -> anyhow::Result<BTreeSet<i32>> {
    let partitions: Vec<i32> =
        sqlx::query_scalar("SELECT DISTINCT partition FROM test_applied WHERE member = $1")
            .bind(member)
            .fetch_all(pool)
            .await?;
    Ok(partitions.into_iter().collect())
}

async fn applied_by(pool: &PgPool, member: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM test_applied WHERE member = $1")
            .bind(member)
            .fetch_one(pool)
            .await?,
    )
}

/// `messages_handled_total{outcome="duplicate"}` of `group`: redeliveries the inbox
/// skipped, as the recorder of this test's thread saw them.
fn duplicates_skipped(metrics: &str, group: &str) -> u64 {
    let group = format!("group=\"{group}\"");
    metrics
        .lines()
        .filter(|line| line.starts_with("messages_handled_total{"))
        .filter(|line| line.contains(&group) && line.contains("outcome=\"duplicate\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn config(group: &str, topic: &str, member: &str) -> ConsumerConfig {
    ConsumerConfig {
        instance_id: Some(format!("{group}-{member}")),
        handler_backoff: Duration::from_millis(100),
        ..ConsumerConfig::new(group, &[topic])
    }
}

/// Member A, run by the test below in a process of its own, so that killing it is a
/// crash: no commit, no close, connections cut. Does nothing when run otherwise.
#[tokio::test]
#[ignore = "member A of the rebalance test, which runs it in a child process"]
async fn member_a_consumes_until_killed() -> anyhow::Result<()> {
    let Ok(spec) = std::env::var(MEMBER_A) else {
        return Ok(());
    };
    let [group, topic, database] = spec.split(' ').collect::<Vec<_>>()[..] else {
        anyhow::bail!("{MEMBER_A} is `group topic database-url`");
    };
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(3))
        .connect(database)
        .await?;
    let runtime = ConsumerRuntime::new(
        &test_support::kafka(),
        config(group, topic, "a"),
        Arc::new(SequenceHandler { member: "a" }),
        pool,
        EventProducer::new(&test_support::kafka())?,
    )?;
    runtime.run(std::future::pending()).await?;
    Ok(())
}

/// The child process of member A, killed when dropped.
struct MemberA(Child);

impl MemberA {
    fn start(fixture: &Fixture) -> anyhow::Result<Self> {
        let spec = format!(
            "{} {} {}",
            fixture.group, fixture.topic, fixture.database.url
        );
        let child = Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "rebalance::member_a_consumes_until_killed",
                "--ignored",
            ])
            .env(MEMBER_A, spec)
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Self(child))
    }

    /// `SIGKILL`.
    fn kill(&mut self) -> anyhow::Result<()> {
        self.0.kill()?;
        self.0.wait()?;
        Ok(())
    }
}

impl Drop for MemberA {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// What the broker knows of the test's group, read by a client of its own off the
/// test's thread (which member B and the producer share).
struct Group {
    client: Arc<BaseConsumer>,
    name: String,
    topic: String,
}

impl Group {
    fn new(fixture: &Fixture) -> anyhow::Result<Self> {
        Ok(Self {
            // Of the group, to read its commits; it never subscribes, so never joins.
            client: Arc::new(test_support::kafka().consumer(&fixture.group).create()?),
            name: fixture.group.clone(),
            topic: fixture.topic.clone(),
        })
    }

    /// Each partition's committed offset (0 for none).
    async fn committed(&self) -> anyhow::Result<BTreeMap<i32, i64>> {
        let (client, topic) = (self.client.clone(), self.topic.clone());
        tokio::task::spawn_blocking(move || {
            let mut partitions = TopicPartitionList::new();
            for partition in 0..PARTITIONS {
                partitions.add_partition(&topic, partition);
            }
            let committed = client.committed_offsets(partitions, Duration::from_secs(10))?;
            Ok(committed
                .elements()
                .iter()
                .map(|p| match p.offset() {
                    Offset::Offset(offset) => (p.partition(), offset),
                    _ => (p.partition(), 0),
                })
                .collect())
        })
        .await?
    }

    /// The partition assignor the members agreed on.
    async fn assignor(&self) -> anyhow::Result<String> {
        let (client, name) = (self.client.clone(), self.name.clone());
        tokio::task::spawn_blocking(move || {
            let list = client.fetch_group_list(Some(&name), Duration::from_secs(10))?;
            Ok(list
                .groups()
                .iter()
                .find(|g| g.name() == name)
                .map(|g| g.protocol().to_owned())
                .unwrap_or_default())
        })
        .await?
    }
}

/// Events A applied at or past the offsets `committed`: what A's successor sees again.
async fn applied_by_a_past(pool: &PgPool, committed: &BTreeMap<i32, i64>) -> anyhow::Result<i64> {
    let rows: Vec<(i32, i64)> =
        sqlx::query_as("SELECT partition, kafka_offset FROM test_applied WHERE member = 'a'")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .iter()
        .filter(|(partition, offset)| *offset >= committed.get(partition).copied().unwrap_or(0))
        .count() as i64)
}

/// `#[tokio::test]` runs on one thread, member B's runtime included: a local metrics
/// recorder sees B's counters and no other test's.
#[tokio::test]
async fn each_order_stays_in_order_while_its_partition_moves_between_members_mid_batch()
-> anyhow::Result<()> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let fixture = Fixture::new("rebalance", PARTITIONS).await?;
    sqlx::raw_sql(
        "ALTER TABLE test_state ADD COLUMN last_seq int NOT NULL DEFAULT 0;
         CREATE TABLE test_applied (order_id uuid NOT NULL, seq int NOT NULL, member text NOT NULL,
                                    partition int NOT NULL, kafka_offset bigint NOT NULL);
         CREATE TABLE test_violations (order_id uuid NOT NULL, last_seq int NOT NULL,
                                       seq int NOT NULL, member text NOT NULL);",
    )
    .execute(&fixture.pool)
    .await?;
    let orders: Vec<OrderId> = (0..ORDERS).map(|_| OrderId::new()).collect();
    let stop_producing = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn(produce(
        fixture.producer.clone(),
        fixture.topic.clone(),
        orders.clone(),
        stop_producing.clone(),
    ));

    // A alone, on every partition, with batches in flight.
    let mut a = MemberA::start(&fixture)?;
    until(60, "A applies events from every partition", async || {
        Ok(partitions_of(&fixture.pool, "a").await?.len() == PARTITIONS as usize)
    })
    .await?;

    // B joins: some of A's partitions move to B, the others stay with A throughout.
    let b = fixture.start_with_pool(
        config(&fixture.group, &fixture.topic, "b"),
        Arc::new(SequenceHandler { member: "b" }),
        fixture.pool.clone(),
    )?;
    until(
        60,
        "B applies events from the partitions it was given",
        async || Ok(applied_by(&fixture.pool, "b").await? >= 100),
    )
    .await?;
    let applied_a_with_b = applied_by(&fixture.pool, "a").await?;
    until(60, "A goes on with the partitions it kept", async || {
        Ok(applied_by(&fixture.pool, "a").await? >= applied_a_with_b + 100)
    })
    .await?;
    let moved_on_join = partitions_of(&fixture.pool, "b").await?;
    let group = Group::new(&fixture)?;
    assert_eq!(group.assignor().await?, "cooperative-sticky");
    assert!(
        moved_on_join.len() < PARTITIONS as usize,
        "A kept none of the topic's partitions"
    );

    // A is killed half a second after one of its commits (it commits once a second):
    // in the middle of a batch, with what it applied since that commit not committed.
    let kept_by_a: Vec<i32> = (0..PARTITIONS)
        .filter(|p| !moved_on_join.contains(p))
        .collect();
    let of_a = |offsets: BTreeMap<i32, i64>| {
        offsets
            .into_iter()
            .filter(|(p, _)| kept_by_a.contains(p))
            .collect::<Vec<_>>()
    };
    let before = of_a(group.committed().await?);
    until(30, "A commits", async || {
        Ok(of_a(group.committed().await?) != before)
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.kill()?;
    let redelivered = applied_by_a_past(&fixture.pool, &group.committed().await?).await?;
    assert!(
        redelivered > 0,
        "A had applied nothing since its last commit"
    );

    until(60, "B applies events from every partition", async || {
        Ok(partitions_of(&fixture.pool, "b").await?.len() == PARTITIONS as usize)
    })
    .await?;
    stop_producing.store(true, Ordering::SeqCst);
    let (rounds, written) = producer.await??;
    assert_eq!(
        written.len(),
        PARTITIONS as usize,
        "a partition had no orders"
    );
    let total = ORDERS as i64 * i64::from(rounds);
    until(60, "every event applied", async || {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM test_applied")
                .fetch_one(&fixture.pool)
                .await?
                >= total,
        )
    })
    .await?;
    // Whatever is still to come (a redelivery applied twice) has time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.stop().await?;

    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT (order_id, seq)) FROM test_applied")
            .fetch_one(&fixture.pool)
            .await?;
    assert_eq!(distinct, total, "an event was never applied");
    assert_eq!(rows, total, "an event was applied twice");
    let violations: Vec<(uuid::Uuid, i32, i32, String)> =
        sqlx::query_as("SELECT order_id, last_seq, seq, member FROM test_violations LIMIT 10")
            .fetch_all(&fixture.pool)
            .await?;
    assert!(
        violations.is_empty(),
        "events applied out of order, (order, last applied, applied, member): {violations:?}"
    );
    let behind: i64 = sqlx::query_scalar("SELECT count(*) FROM test_state WHERE last_seq <> $1")
        .bind(rounds as i32)
        .fetch_one(&fixture.pool)
        .await?;
    assert_eq!(behind, 0, "an order did not end at its last event");
    let skipped = duplicates_skipped(&metrics.render(), &fixture.group);
    assert!(
        skipped >= redelivered as u64,
        "B skipped {skipped} duplicates, but A applied {redelivered} events past its last commit"
    );
    assert_eq!(
        DlqAdmin::new(test_support::kafka(), &fixture.group)
            .depth()
            .await?,
        0,
        "dead letters"
    );
    eprintln!(
        "{total} events in {rounds} rounds; A applied {}, B {}; partitions of the topic \
         moved to B when it joined: {moved_on_join:?}; A applied {redelivered} past its \
         last commit; duplicates the inbox skipped: {skipped}",
        applied_by(&fixture.pool, "a").await?,
        applied_by(&fixture.pool, "b").await?,
    );
    fixture.finish().await
}
