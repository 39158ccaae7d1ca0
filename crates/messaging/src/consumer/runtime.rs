//! The poll loop: batches, retries, dead letters, pausing on outages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::FutureExt;
use rdkafka::Message;
use rdkafka::Offset;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::context::SagaConsumerContext;
use super::prepare::{Prepared, prepare};
use super::{ConsumerConfig, Envelope, Handler, Outcome};
use crate::dlq::{DlqClass, Failure, Origin, dlq_headers};
use crate::error::{ErrorClass, HandlerError};
use crate::headers::extract_context;
use crate::inbox::{self, InboxOutcome};
use crate::{EventProducer, KafkaConfig};

/// Shared view of the runtime's state, for readiness and tests.
#[derive(Debug, Clone, Default)]
pub struct ConsumerHealth {
    paused: Arc<AtomicBool>,
}

impl ConsumerHealth {
    /// True while an infrastructure outage keeps the partitions paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }
}

/// What a message's transaction did, once it committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Handled(Outcome),
    Duplicate,
    /// The same event id was handled before with another body: poison.
    Conflict,
}

/// Partitions paused by an outage, and where each resumes.
#[derive(Debug)]
struct Pause {
    resume_at: Instant,
    seek_to: BTreeMap<(String, i32), i64>,
}

/// The runtime stops a batch and pauses when the database or broker is away.
#[derive(Debug)]
struct Outage(HandlerError);

/// How far a batch transaction got.
enum BatchResult {
    /// Every message committed.
    All,
    /// The messages before this index committed; the rest go one by one, starting with
    /// the one that stopped the batch (with its failure, if the handler failed).
    Prefix(usize, Option<HandlerError>),
    /// Nothing committed: the database is away.
    Outage(HandlerError),
}

/// One service's consumer: its group, its handler, its database.
pub struct ConsumerRuntime<H: Handler> {
    config: ConsumerConfig,
    handler: Arc<H>,
    pool: PgPool,
    consumer: Arc<StreamConsumer<SagaConsumerContext>>,
    producer: EventProducer,
    health: ConsumerHealth,
    pause: Option<Pause>,
    backoff: Duration,
    last_lag: Instant,
    subscriptions: Vec<String>,
    dlq_topic: String,
    skips: SkipLog,
    /// The batch's lock and inbox insert, for the handler's state table.
    admission_sql: String,
}

/// How often consumer lag is measured (a watermark round trip per partition).
const LAG_EVERY: Duration = Duration::from_secs(10);

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
        let health = ConsumerHealth::default();
        let context = SagaConsumerContext {
            paused: Arc::clone(&health.paused),
        };
        let consumer: StreamConsumer<SagaConsumerContext> = client.create_with_context(context)?;
        let subscriptions = config.subscriptions(kafka);
        let topics: Vec<&str> = subscriptions.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let dlq_topic = kafka.topic(&contracts::topics::dlq_topic(&config.group));
        let backoff = config.infrastructure_backoff;
        let handler_table = handler.state_table();
        Ok(Self {
            config,
            handler,
            pool,
            consumer: Arc::new(consumer),
            producer,
            health,
            pause: None,
            backoff,
            last_lag: Instant::now(),
            subscriptions,
            dlq_topic,
            skips: SkipLog::default(),
            admission_sql: super::admission_sql(handler_table),
        })
    }

    pub fn health(&self) -> ConsumerHealth {
        self.health.clone()
    }

    /// Consumes until `shutdown` resolves; finishes the batch in hand, then commits.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(group = %self.config.group, topics = ?self.subscriptions, "Consuming.");
        loop {
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
            if self.pause.is_some() {
                self.hold_back(&batch);
                continue;
            }
            self.process_batch(batch).await;
        }
        if let Err(err) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(error = %err, "No offsets to commit at shutdown.");
        }
        self.consumer.unsubscribe();
        tracing::info!(group = %self.config.group, "Consumer stopped.");
    }

    async fn process_batch(&mut self, batch: Vec<OwnedMessage>) {
        let prepared: Vec<Prepared> = batch
            .iter()
            .map(|m| prepare(self.handler.as_ref(), m))
            .collect();
        let (first_single, mut prior) = match self.try_batch(&batch, &prepared).await {
            BatchResult::All => {
                self.after_commit(&batch);
                return;
            }
            BatchResult::Prefix(done, failed) => {
                self.after_commit(&batch[..done]);
                (done, failed)
            }
            BatchResult::Outage(err) => {
                self.pause_from(&batch, &err);
                return;
            }
        };
        for index in first_single..batch.len() {
            match self
                .process_single(&batch[index], &prepared[index], prior.take())
                .await
            {
                Ok(()) => self.after_commit(&batch[index..=index]),
                Err(Outage(err)) => {
                    self.pause_from(&batch[index..], &err);
                    return;
                }
            }
        }
    }

    /// Every message in one transaction, stopping at the first that fails or needs a
    /// dead letter. The batch's orders are locked and its events recorded in the inbox
    /// up front, in one statement. No savepoint per message (two round trips each):
    /// when a handler fails, the transaction is rolled back and the messages before it
    /// are committed again on their own, which costs something only on the rare failure.
    async fn try_batch(&self, batch: &[OwnedMessage], prepared: &[Prepared]) -> BatchResult {
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(err) => return outage_or(err.into(), BatchResult::Prefix(0, None)),
        };
        // Nothing of a dead letter is written: what comes before it commits as it is.
        let end = prepared
            .iter()
            .position(|p| matches!(p, Prepared::DeadLetter(..)))
            .unwrap_or(batch.len());
        let to_handle: Vec<(&Envelope, &[u8; 32])> = prepared[..end]
            .iter()
            .filter_map(|p| match p {
                Prepared::Handle(envelope, sha) => Some((envelope.as_ref(), sha)),
                _ => None,
            })
            .collect();
        let mut admitted = match self.admit(&mut tx, &to_handle).await {
            Ok(admitted) => admitted.into_iter(),
            // Not one message's fault: each goes on alone, with its own retries.
            Err(err) => return outage_or(err, BatchResult::Prefix(0, None)),
        };
        let mut outcomes = Vec::with_capacity(to_handle.len());
        for (index, (message, prep)) in batch[..end].iter().zip(prepared).enumerate() {
            let envelope = match prep {
                Prepared::Skip(reason) => {
                    self.skips.record(message, reason);
                    continue;
                }
                Prepared::DeadLetter(..) => unreachable!("the batch stops before a dead letter"),
                Prepared::Handle(envelope, _) => envelope,
            };
            let span = message_span(&self.config.group, message, envelope);
            let admission = admitted.next().expect("one admission per handled message");
            match self
                .apply(&mut tx, envelope, admission)
                .instrument(span)
                .await
            {
                // The batch's lock may have created a state row for the body's order:
                // undone with the rest; the message goes on alone to the DLQ.
                Ok(Applied::Conflict) => {
                    drop(tx);
                    return self.redo_prefix(batch, prepared, index, None).await;
                }
                Ok(applied) => outcomes.push(applied),
                Err(err) => {
                    if err.class() == ErrorClass::Infrastructure {
                        return BatchResult::Outage(err);
                    }
                    // Its writes, or an aborted transaction, are in `tx`.
                    drop(tx);
                    return self.redo_prefix(batch, prepared, index, Some(err)).await;
                }
            }
        }
        match tx.commit().await {
            Ok(()) => {
                outcomes.iter().for_each(|a| self.count(*a));
                if end == batch.len() {
                    BatchResult::All
                } else {
                    BatchResult::Prefix(end, None)
                }
            }
            Err(err) => outage_or(err.into(), BatchResult::Prefix(0, None)),
        }
    }

    /// `batch[failed_at]` left writes behind in the batch transaction, now rolled back
    /// (its handler failed with `err`, or its event id conflicts): commit the messages
    /// before it in a transaction of their own.
    async fn redo_prefix(
        &self,
        batch: &[OwnedMessage],
        prepared: &[Prepared],
        failed_at: usize,
        err: Option<HandlerError>,
    ) -> BatchResult {
        if failed_at == 0 {
            return BatchResult::Prefix(0, err);
        }
        match Box::pin(self.try_batch(&batch[..failed_at], &prepared[..failed_at])).await {
            BatchResult::All => BatchResult::Prefix(failed_at, err),
            // Something before it failed this time: go one by one from there.
            other => other,
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
                self.skips.record(message, reason);
                return Ok(());
            }
            Prepared::DeadLetter(class, reason) => {
                let now = Utc::now();
                return self
                    .dead_letter(message, failure(*class, reason.clone(), 1, now))
                    .await;
            }
            Prepared::Handle(envelope, sha) => (envelope, sha),
        };
        let mut attempts = 0;
        let mut transient = 0;
        let mut handler_failures = 0;
        let mut first_failed_at = None;
        let mut prior = prior;
        loop {
            attempts += 1;
            if let Some(err) = prior.take() {
                // The batch already tried it once: count that try, wait as a retry would.
                match err.class() {
                    ErrorClass::Transient => transient += 1,
                    ErrorClass::Handler => {
                        handler_failures += 1;
                        first_failed_at = Some(Utc::now());
                        tokio::time::sleep(self.config.handler_backoff).await;
                    }
                    ErrorClass::Infrastructure => {}
                }
                continue;
            }
            let span = message_span(&self.config.group, message, envelope);
            let result = async {
                let mut tx = self.pool.begin().await?;
                let applied = match self.admit(&mut tx, &[(envelope, sha)]).await {
                    Ok(admitted) => self.apply(&mut tx, envelope, admitted[0]).await,
                    Err(err) => Err(err),
                };
                match applied {
                    Ok(Applied::Conflict) => {
                        tx.rollback().await?;
                        Ok(Applied::Conflict)
                    }
                    Ok(applied) => {
                        tx.commit().await?;
                        Ok(applied)
                    }
                    Err(err) => {
                        // Released now, not when the connection is next used: the
                        // backoff below must not hold the order's lock.
                        let _ = tx.rollback().await;
                        Err(err)
                    }
                }
            }
            .instrument(span.clone())
            .await;
            let err = match result {
                Ok(Applied::Conflict) => {
                    let reason = format!(
                        "event {} was handled before with another body",
                        envelope.metadata.event_id
                    );
                    let now = Utc::now();
                    return self
                        .dead_letter(message, failure(DlqClass::Poison, reason, attempts, now))
                        .await;
                }
                Ok(applied) => {
                    self.count(applied);
                    return Ok(());
                }
                Err(err) => err,
            };
            match err.class() {
                ErrorClass::Infrastructure => return Err(Outage(err)),
                ErrorClass::Transient if transient < self.config.transient_retries => {
                    transient += 1;
                    metrics::counter!("messages_retried_total", "group" => self.config.group.clone(), "class" => "transient").increment(1);
                    continue;
                }
                ErrorClass::Transient | ErrorClass::Handler => {}
            }
            let now = Utc::now();
            let first = *first_failed_at.get_or_insert(now);
            handler_failures += 1;
            if handler_failures > self.config.handler_retries {
                let failure = Failure {
                    first_failed_at: first,
                    ..failure(DlqClass::Handler, err.to_string(), attempts, now)
                };
                return self.dead_letter(message, failure).await;
            }
            let wait = self.config.handler_backoff * 2u32.saturating_pow(handler_failures - 1);
            span.in_scope(|| {
                tracing::warn!(error = %err, attempt = attempts, retry_in_ms = wait.as_millis() as u64, "Handler failed; retrying.");
            });
            metrics::counter!("messages_retried_total", "group" => self.config.group.clone(), "class" => "handler").increment(1);
            // No transaction is open here: nothing is locked while we wait.
            tokio::time::sleep(wait).await;
        }
    }

    /// Locks the orders of `messages` and records their events in the inbox: the start
    /// of every transaction, one statement however many messages it carries.
    async fn admit(
        &self,
        tx: &mut PgConnection,
        messages: &[(&Envelope, &[u8; 32])],
    ) -> Result<Vec<InboxOutcome>, HandlerError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut orders: Vec<uuid::Uuid> = messages.iter().map(|(e, _)| e.order_id().0).collect();
        orders.sort_unstable();
        orders.dedup();
        let events: Vec<_> = messages
            .iter()
            .map(|(e, sha)| (e.metadata.event_id, **sha))
            .collect();
        let group = &self.config.group;
        let inserted =
            inbox::insert_all(tx, &self.admission_sql, group, &events, Some(&orders)).await?;
        Ok(inbox::classify(tx, group, &events, &inserted).await?)
    }

    /// Handles an admitted message: a new event is applied, a known one is not.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
        admission: InboxOutcome,
    ) -> Result<Applied, HandlerError> {
        match admission {
            InboxOutcome::New => Ok(Applied::Handled(self.handler.handle(tx, envelope).await?)),
            InboxOutcome::Duplicate => Ok(Applied::Duplicate),
            InboxOutcome::Conflict => Ok(Applied::Conflict),
        }
    }

    /// Copies the message to `<group>.dlq` and waits for the broker's acknowledgement.
    async fn dead_letter(&self, message: &OwnedMessage, failure: Failure) -> Result<(), Outage> {
        let origin = Origin {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            group: self.config.group.clone(),
        };
        let topic = self.dlq_topic.clone();
        let headers = dlq_headers(message.headers(), &origin, &failure);
        let span = tracing::info_span!(
            "dead letter",
            otel.name = format!("{topic} publish"),
            otel.kind = "producer",
            messaging.system = "kafka",
            messaging.operation = "publish",
            messaging.destination.name = %topic,
            dlq.error_class = failure.class.as_str(),
            saga.correlation_id = tracing::field::Empty,
        );
        if let Some(correlation) = message
            .headers()
            .and_then(|h| crate::headers::last_value(h, contracts::headers::CORRELATION_ID))
        {
            span.record(
                "saga.correlation_id",
                String::from_utf8_lossy(correlation).as_ref(),
            );
        }
        let _ = span.set_parent(message.headers().map(extract_context).unwrap_or_default());
        let sent = self
            .producer
            .send_raw(
                &topic,
                message.key().unwrap_or_default(),
                message.payload().unwrap_or_default(),
                headers,
            )
            .instrument(span.clone())
            .await;
        match sent {
            Ok(delivered) => {
                span.in_scope(|| {
                    tracing::error!(
                        class = failure.class.as_str(),
                        error = %failure.error,
                        attempts = failure.attempts,
                        topic = %origin.topic,
                        partition = origin.partition,
                        offset = origin.offset,
                        dlq_partition = delivered.partition,
                        dlq_offset = delivered.offset,
                        "Dead-lettered a message; inspect with `sagactl dlq list`."
                    );
                });
                metrics::counter!("messages_dead_lettered_total", "group" => self.config.group.clone(), "class" => failure.class.as_str()).increment(1);
                Ok(())
            }
            Err(err) => Err(Outage(HandlerError::Kafka(err.to_string()))),
        }
    }

    /// Stores the offsets of messages whose transaction committed (or that were
    /// skipped or dead-lettered), and tells the handler.
    fn after_commit(&mut self, messages: &[OwnedMessage]) {
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
        self.backoff = self.config.infrastructure_backoff;
        self.handler.committed();
    }

    fn count(&self, applied: Applied) {
        let outcome = match applied {
            Applied::Handled(Outcome::Applied) => "applied",
            Applied::Handled(Outcome::Ignored) => "ignored",
            Applied::Duplicate => "duplicate",
            Applied::Conflict => return,
        };
        metrics::counter!("messages_handled_total", "group" => self.config.group.clone(), "outcome" => outcome).increment(1);
    }

    /// An outage: pause every assigned partition, remember where each resumes.
    fn pause_from(&mut self, unprocessed: &[OwnedMessage], err: &HandlerError) {
        let mut pause = self.pause.take().unwrap_or(Pause {
            resume_at: Instant::now(),
            seek_to: BTreeMap::new(),
        });
        remember_positions(&mut pause.seek_to, unprocessed);
        pause.resume_at = Instant::now() + self.backoff;
        tracing::warn!(error = %err, retry_in_ms = self.backoff.as_millis() as u64, "Infrastructure unavailable; pausing consumption.");
        self.backoff = (self.backoff * 2).min(self.config.max_backoff);
        self.pause = Some(pause);
        self.health.paused.store(true, Ordering::SeqCst);
        self.pause_assignment();
        metrics::counter!("consumer_pauses_total", "group" => self.config.group.clone())
            .increment(1);
    }

    /// Messages that arrive while paused were fetched before the pause: they go back.
    fn hold_back(&mut self, batch: &[OwnedMessage]) {
        if let Some(pause) = self.pause.as_mut() {
            remember_positions(&mut pause.seek_to, batch);
        }
    }

    fn pause_assignment(&self) {
        if let Ok(assignment) = self.consumer.assignment()
            && let Err(err) = self.consumer.pause(&assignment)
        {
            tracing::warn!(error = %err, "Pausing partitions failed.");
        }
    }

    /// Once a second: measure lag now and then; resume after an outage's backoff.
    fn on_tick(&mut self) {
        if self.last_lag.elapsed() >= LAG_EVERY {
            self.last_lag = Instant::now();
            let consumer = Arc::clone(&self.consumer);
            let group = self.config.group.clone();
            tokio::task::spawn_blocking(move || match lag(&consumer) {
                Ok(lag) => metrics::gauge!("consumer_lag", "group" => group).set(lag as f64),
                Err(err) => tracing::debug!(error = %err, "Measuring consumer lag failed."),
            });
        }
        let Some(pause) = self.pause.as_ref() else {
            return;
        };
        if Instant::now() < pause.resume_at {
            // Partitions assigned since the pause are paused too.
            self.pause_assignment();
            return;
        }
        let assignment = match self.consumer.assignment() {
            Ok(assignment) => assignment,
            Err(err) => {
                tracing::warn!(error = %err, "Reading the assignment failed; still paused.");
                return;
            }
        };
        // Resume first, then seek: a seek on a paused partition can be overtaken by the
        // resume's fetch start (librdkafka #2190). New assignments resume by themselves
        // from here on (see the context's post_rebalance).
        self.health.paused.store(false, Ordering::SeqCst);
        if let Err(err) = self.consumer.resume(&assignment) {
            tracing::warn!(error = %err, "Resuming partitions failed.");
        }
        let pause = self.pause.take().expect("checked above");
        let assigned = assignment.to_topic_map();
        let mut unsought = BTreeMap::new();
        for ((topic, partition), offset) in &pause.seek_to {
            if !assigned.contains_key(&(topic.clone(), *partition)) {
                // Revoked meanwhile: whoever owns it now starts at the committed offset,
                // which is at or before this one.
                continue;
            }
            if let Err(err) = self.consumer.seek(
                topic,
                *partition,
                Offset::Offset(*offset),
                Duration::from_secs(5),
            ) {
                tracing::warn!(error = %err, topic, partition, "Seek refused; staying paused.");
                unsought.insert((topic.clone(), *partition), *offset);
            }
        }
        if !unsought.is_empty() {
            // The messages held back were fetched already: without the seek they would
            // be skipped. Pause again and retry the whole resume shortly.
            self.pause = Some(Pause {
                resume_at: Instant::now() + Duration::from_secs(1),
                seek_to: pause.seek_to,
            });
            self.health.paused.store(true, Ordering::SeqCst);
            self.pause_assignment();
            return;
        }
        tracing::info!(partitions = pause.seek_to.len(), "Resuming consumption.");
    }
}

/// Messages between this member's positions and the high watermarks of its partitions.
fn lag(consumer: &StreamConsumer<SagaConsumerContext>) -> rdkafka::error::KafkaResult<i64> {
    let positions = consumer.position()?;
    let mut total = 0;
    for element in positions.elements() {
        let (_, high) = consumer.fetch_watermarks(
            element.topic(),
            element.partition(),
            Duration::from_secs(2),
        )?;
        if let Offset::Offset(position) = element.offset() {
            total += (high - position).max(0);
        } else {
            let (low, _) = consumer.fetch_watermarks(
                element.topic(),
                element.partition(),
                Duration::from_secs(2),
            )?;
            total += (high - low).max(0);
        }
    }
    Ok(total)
}

fn remember_positions(seek_to: &mut BTreeMap<(String, i32), i64>, messages: &[OwnedMessage]) {
    for message in messages {
        seek_to
            .entry((message.topic().to_owned(), message.partition()))
            .and_modify(|offset| *offset = (*offset).min(message.offset()))
            .or_insert(message.offset());
    }
}

fn outage_or(err: HandlerError, otherwise: BatchResult) -> BatchResult {
    if err.class() == ErrorClass::Infrastructure {
        BatchResult::Outage(err)
    } else {
        otherwise
    }
}

fn failure(class: DlqClass, error: String, attempts: u32, now: chrono::DateTime<Utc>) -> Failure {
    Failure {
        class,
        error,
        attempts,
        first_failed_at: now,
        last_failed_at: now,
    }
}

/// Reasons for skipping logged at INFO so far; a bound keeps a flood of made-up types
/// from growing it without end.
#[derive(Debug, Default)]
struct SkipLog(std::sync::Mutex<std::collections::HashSet<String>>);

const SKIP_REASONS_LOGGED: usize = 1000;

impl SkipLog {
    /// The first skip for each reason (an event type this service does not handle, as a
    /// rule) is logged at INFO, later ones at DEBUG: a service skips most of the traffic
    /// on a topic it reads for one event, and a line per message would drown the log.
    /// `messages_skipped_total` counts every one.
    fn record(&self, message: &OwnedMessage, reason: &str) {
        let first = {
            let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.len() < SKIP_REASONS_LOGGED && seen.insert(reason.to_owned())
        };
        if first {
            tracing::info!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                reason,
                "Skipped a message; later ones for the same reason are logged at debug."
            );
        } else {
            tracing::debug!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                reason,
                "Skipped a message."
            );
        }
        metrics::counter!("messages_skipped_total").increment(1);
    }
}

/// The consume span of one message: a child of the producer's context from the headers.
fn message_span(group: &str, message: &OwnedMessage, envelope: &Envelope) -> tracing::Span {
    let span = tracing::info_span!(
        "process",
        otel.name = format!("{} process", message.topic()),
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.operation = "process",
        messaging.destination.name = message.topic(),
        messaging.destination.partition.id = message.partition(),
        messaging.kafka.message.key = %envelope.order_id(),
        messaging.kafka.offset = message.offset(),
        messaging.consumer.group.name = group,
        messaging.message.id = %envelope.metadata.event_id,
        saga.correlation_id = %envelope.metadata.correlation_id,
        order.id = %envelope.order_id(),
        event.r#type = %envelope.metadata.event_type,
    );
    let _ = span.set_parent(message.headers().map(extract_context).unwrap_or_default());
    span
}
