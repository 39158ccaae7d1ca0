//! The poll loop, as the at-least-once recipe of DESIGN.md §5: poll a batch, run it in
//! one transaction (lock, dedup, handle, outbox), commit, and only then store the
//! offsets. A failure commits what came before it and takes the rest one message per
//! transaction, each with the retries its class allows (`retry`); an outage pauses the
//! partitions (`outage`); a message given up on is copied to the DLQ (`dead_letter`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::FutureExt;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use sqlx::PgPool;
use tracing::Instrument;

use super::context::{SagaConsumerContext, commit_stored};
use super::dead_letter::DeadLetterer;
use super::health::{ConsumerFailed, ConsumerHealth};
use super::observe::{self, Applied, SkipLog, message_span};
use super::outage::OutageGate;
use super::prepare::{Prepared, prepare};
use super::retry::{Attempts, Decision, RetryPolicy};
use super::transaction::{BatchResult, Transactions};
use super::{ConsumerConfig, Handler};
use crate::dlq::DlqClass;
use crate::error::HandlerError;
use crate::{EventProducer, KafkaConfig};

/// A transaction not answered within `deadline`: the database is away.
fn silent(deadline: Duration) -> HandlerError {
    HandlerError::Database(crate::session::silent_for(deadline))
}

/// How often stored offsets are committed: what a crash may make the next owner see
/// again (and the inbox absorb).
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// The runtime stops a batch and pauses when the database or broker is away.
#[derive(Debug)]
struct Outage(HandlerError);

/// One service's consumer: its group, its handler, its database.
pub struct ConsumerRuntime<H: Handler> {
    config: ConsumerConfig,
    work: Transactions<H>,
    consumer: Arc<StreamConsumer<SagaConsumerContext>>,
    health: ConsumerHealth,
    outage: OutageGate,
    retry: RetryPolicy,
    dead_letters: DeadLetterer,
    subscriptions: Vec<String>,
    /// When stored offsets were last committed to the group.
    last_commit: Instant,
}

impl<H: Handler> std::fmt::Debug for ConsumerRuntime<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerRuntime")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> ConsumerRuntime<H> {
    /// Creates the consumer and subscribes to the topics and the group's `.retry`.
    pub fn new(
        kafka: &KafkaConfig,
        config: ConsumerConfig,
        handler: Arc<H>,
        pool: PgPool,
        producer: EventProducer,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let mut client = kafka.consumer(&config.group);
        if let Some(instance) = &config.instance_id {
            client.set("group.instance.id", instance);
        }
        for (key, value) in &config.client_overrides {
            client.set(key, value);
        }
        let health = ConsumerHealth::new(&config.group, config.stuck_after);
        let context = SagaConsumerContext {
            health: health.clone(),
        };
        let consumer: StreamConsumer<SagaConsumerContext> = client.create_with_context(context)?;
        let subscriptions = config.subscriptions(kafka);
        let topics: Vec<&str> = subscriptions.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let dlq_topic = kafka.topic(&contracts::topics::dlq_topic(&config.group));
        let admission_sql = super::admission_sql(handler.state_table());
        let admission_summary = super::admission_summary(handler.state_table());
        Ok(Self {
            outage: OutageGate::new(&config, health.clone()),
            retry: config.retry_policy(),
            dead_letters: DeadLetterer::new(producer, dlq_topic, config.group.clone()),
            work: Transactions {
                handler,
                pool,
                group: config.group.clone(),
                skips: SkipLog::default(),
                admission_sql,
                admission_summary,
            },
            config,
            consumer: Arc::new(consumer),
            health,
            subscriptions,
            last_commit: Instant::now(),
        })
    }

    pub fn health(&self) -> ConsumerHealth {
        self.health.clone()
    }

    /// Consumes until `shutdown` resolves; finishes the batch in hand, then commits.
    /// Returns early, with the error, when the client fails for good: its supervisor
    /// must restart the service, since this client will never consume again.
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ConsumerFailed> {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(group = %self.config.group, topics = ?self.subscriptions, "Consuming.");
        loop {
            if self.health.failure().is_some() {
                break;
            }
            let consumer = Arc::clone(&self.consumer);
            // Every pass polls the client again, so a member whose partitions are all
            // paused still polls within max.poll.interval.ms and stays in its group.
            let batch = tokio::select! {
                biased;
                () = &mut shutdown => break,
                received = consumer.recv() => {
                    let mut batch = Vec::new();
                    match received {
                        Ok(message) => batch.push(message.detach()),
                        Err(KafkaError::MessageConsumptionFatal(code)) => {
                            let reason = self.consumer.client().fatal_error()
                                .map_or_else(|| code.to_string(), |(_, reason)| reason);
                            self.health.fail(reason);
                        }
                        Err(err) => tracing::warn!(error = %err, "Kafka consumer error."),
                    }
                    while batch.len() < self.config.batch_size {
                        match consumer.recv().now_or_never() {
                            Some(Ok(message)) => batch.push(message.detach()),
                            _ => break,
                        }
                    }
                    batch
                }
                _ = tick.tick() => {
                    self.on_tick();
                    continue;
                }
            };
            if batch.is_empty() {
                continue;
            }
            if self.outage.is_paused() {
                self.outage.hold_back(&batch);
                continue;
            }
            self.process_batch(batch).await;
        }
        if let Some(reason) = self.health.failure() {
            tracing::error!(group = %self.config.group, reason, "The Kafka consumer failed for good; stopping.");
            return Err(ConsumerFailed {
                group: self.config.group.clone(),
                reason: reason.to_owned(),
            });
        }
        commit_stored(self.consumer.as_ref(), CommitMode::Sync);
        self.consumer.unsubscribe();
        tracing::info!(group = %self.config.group, "Consumer stopped.");
        Ok(())
    }

    async fn process_batch(&mut self, batch: Vec<OwnedMessage>) {
        self.health.holding(batch.len());
        self.process(&batch).await;
        self.health.holding(0);
    }

    async fn process(&mut self, batch: &[OwnedMessage]) {
        let prepared: Vec<Prepared> = batch
            .iter()
            .map(|m| prepare(self.work.handler.as_ref(), m))
            .collect();
        let deadline = self.config.transaction_deadline;
        let tried = tokio::time::timeout(deadline, self.work.try_batch(batch, &prepared)).await;
        let tried = tried.unwrap_or_else(|_| BatchResult::Outage(silent(deadline)));
        let (first_single, mut prior) = match tried {
            BatchResult::All => {
                self.after_commit(batch, &prepared);
                return;
            }
            BatchResult::Prefix(done, failed) => {
                self.after_commit(&batch[..done], &prepared[..done]);
                (done, failed)
            }
            BatchResult::Outage(err) => {
                self.outage.pause_from(&self.consumer, batch, &err);
                return;
            }
        };
        for index in first_single..batch.len() {
            match self
                .process_single(&batch[index], &prepared[index], prior.take())
                .await
            {
                Ok(()) => self.after_commit(&batch[index..=index], &prepared[index..=index]),
                Err(Outage(err)) => {
                    self.outage
                        .pause_from(&self.consumer, &batch[index..], &err);
                    return;
                }
            }
        }
    }

    /// One message in its own transaction, with the retries its failure class allows.
    /// `prior` is its failure in the batch transaction, which counts as an attempt.
    async fn process_single(
        &self,
        message: &OwnedMessage,
        prepared: &Prepared,
        prior: Option<HandlerError>,
    ) -> Result<(), Outage> {
        let (envelope, sha) = match prepared {
            Prepared::Skip(reason) => {
                self.work.skips.record(message, reason);
                return Ok(());
            }
            Prepared::DeadLetter(class, reason) => {
                let failure = Attempts::default().failure(*class, reason.clone(), 1, Utc::now());
                return self.dead_letter(message, failure).await;
            }
            Prepared::Handle(envelope, sha) => (envelope, sha),
        };
        let mut attempts = Attempts::default();
        let mut failed = prior;
        loop {
            if let Some(err) = failed.take() {
                let now = Utc::now();
                match self.retry.decide(&mut attempts, err.class(), now) {
                    Decision::Pause => return Err(Outage(err)),
                    Decision::RetryNow => self.count_retry("transient"),
                    Decision::RetryAfter(wait) => {
                        message_span(&self.config.group, message, envelope).in_scope(|| {
                            tracing::warn!(error = %err, attempt = attempts.failures(), retry_in_ms = wait.as_millis() as u64, "Handler failed; retrying.");
                        });
                        self.count_retry("handler");
                        // No transaction is open here: nothing is locked while we wait.
                        tokio::time::sleep(wait).await;
                    }
                    Decision::DeadLetter => {
                        let failure = attempts.failure(
                            DlqClass::Handler,
                            err.to_string(),
                            attempts.failures(),
                            now,
                        );
                        return self.dead_letter(message, failure).await;
                    }
                }
            }
            let span = message_span(&self.config.group, message, envelope);
            let deadline = self.config.transaction_deadline;
            let attempt = self.work.attempt(envelope, sha).instrument(span);
            let attempt = tokio::time::timeout(deadline, attempt).await;
            match attempt.unwrap_or_else(|_| Err(silent(deadline))) {
                Ok(Applied::Conflict) => {
                    let reason = format!(
                        "event {} was handled before with another body",
                        envelope.metadata.event_id
                    );
                    let tries = attempts.failures() + 1;
                    let failure = attempts.failure(DlqClass::Poison, reason, tries, Utc::now());
                    return self.dead_letter(message, failure).await;
                }
                Ok(applied) => {
                    observe::count(&self.config.group, applied, envelope);
                    return Ok(());
                }
                Err(err) => failed = Some(err),
            }
        }
    }

    fn count_retry(&self, class: &'static str) {
        metrics::counter!("messages_retried_total", "group" => self.config.group.clone(), "class" => class).increment(1);
    }

    /// Copies the message to the DLQ; a broker that does not take it is an outage.
    async fn dead_letter(
        &self,
        message: &OwnedMessage,
        failure: crate::dlq::Failure,
    ) -> Result<(), Outage> {
        self.dead_letters
            .send(message, failure)
            .await
            .map_err(Outage)
    }

    /// Stores the offsets of messages whose transaction committed (or that were
    /// skipped or dead-lettered), and tells the handler if one of them was handled:
    /// skips and dead letters write no outbox row, so waking the relay for them would
    /// only cost it a read that finds nothing.
    fn after_commit(&mut self, messages: &[OwnedMessage], prepared: &[Prepared]) {
        if messages.is_empty() {
            return;
        }
        for message in messages {
            if let Err(err) =
                self.consumer
                    .store_offset(message.topic(), message.partition(), message.offset())
            {
                // The partition was revoked meanwhile: its new owner starts after what
                // was committed, so dropping this store loses nothing.
                tracing::debug!(error = %err, topic = message.topic(), partition = message.partition(), "Offset store refused.");
            }
        }
        self.outage.recovered();
        self.health.progressed();
        if prepared.iter().any(|p| matches!(p, Prepared::Handle(..))) {
            self.work.handler.committed();
        }
        self.commit_now_and_then();
    }

    /// Commits the stored offsets if the last commit is a second old: after batches
    /// (a busy consumer may not tick for a while) and on the tick (an idle one).
    fn commit_now_and_then(&mut self) {
        if self.last_commit.elapsed() >= COMMIT_INTERVAL {
            commit_stored(self.consumer.as_ref(), CommitMode::Async);
            self.last_commit = Instant::now();
        }
    }

    /// Once a second: commit what was stored, resume after an outage's backoff, and
    /// publish the health.
    fn on_tick(&mut self) {
        self.commit_now_and_then();
        self.outage.tick(&self.consumer);
        self.health.publish();
    }
}
