//! The relay: unpublished rows, in id order, to Kafka; then marked.
//!
//! One step ([`Relay::relay_once`]) reads a batch, hands every row to the producer in
//! id order (so one key's rows keep their order within its partition), awaits every
//! delivery report, and marks in one statement what was delivered. A crash before the
//! mark publishes the batch again: at least once, made harmless by the consumers'
//! inbox. Only a permanent refusal (size or record format) parks a row; every other
//! failure leaves it, and every row after it, for the next step.
//!
//! The running relay ([`Relay::run`]) is a pipeline of up to [`MAX_IN_FLIGHT`] batches:
//! a wake-up reads and produces new rows at once, even while earlier batches still
//! wait for their reports, and batches are marked in the order they were produced.
//! A read takes the rows after the newest one in flight, an index range scan; when the
//! pipeline is empty, and at least once per poll interval, it reads from the start of
//! the outbox instead, skipping what is in flight, so that a row whose transaction
//! committed late, with a lower id than rows already read, is published too. Such a row
//! can be produced after a later row of the same key (the only place where per-key
//! order is best effort; reactions are total, as for a DLQ replay). A failure drops the
//! batches behind it; they are read and published again (duplicates the inbox absorbs).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use messaging::session::within;
use messaging::{EventProducer, ProduceError};
use tracing::Instrument;

use crate::Wakeup;
use crate::leader::Leadership;

mod rows;

use rows::{Row, mark, message_headers, publish_span};

/// How the relay behaves; the defaults are DESIGN.md §5's.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows read and produced per step.
    pub batch_size: i64,
    /// The fallback poll when no in-process wake-up comes (at most 100 ms), for rows
    /// another process committed; also how often a busy pipeline reads from the start.
    pub poll_interval: Duration,
    /// The poll slows down, doubling after each poll that found nothing, to this; any
    /// wake-up or row found brings it back to `poll_interval`. An idle stack then reads
    /// each outbox once a second instead of ten times.
    pub idle_poll_max: Duration,
    /// Schema of the `outbox` table; part of the leader lock's key.
    pub schema: String,
    /// Test only: produce every row twice, to prove the consumers' dedup.
    pub publish_twice: bool,
    /// Prepended to each row's topic at publish time (`KAFKA_TOPIC_PREFIX`): rows keep
    /// the contracts' names, the deployment decides where they go.
    pub topic_prefix: String,
    /// The leader session's limits, server side and client side.
    pub session: messaging::session::SessionLimits,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            poll_interval: Duration::from_millis(100),
            idle_poll_max: Duration::from_secs(1),
            schema: "public".to_owned(),
            publish_twice: false,
            topic_prefix: String::new(),
            session: messaging::session::SessionLimits::default(),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayStep {
    /// Rows were delivered and marked (`parked` of them refused for good).
    Published { rows: usize, parked: usize },
    /// Nothing to publish.
    Empty,
    /// Another relay holds the lock; this one waits.
    NotLeader,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publishing row {id}: {source}")]
    Produce {
        id: i64,
        #[source]
        source: ProduceError,
    },
}

/// Most batches produced and not yet marked.
pub const MAX_IN_FLIGHT: usize = 4;

/// When a batch's delivery reports are overdue: the producer reports every message by
/// `message.timeout.ms` (30 s), so a batch still waiting well after that has a client
/// that stopped working, which is replaced.
const REPORTS_OVERDUE: Duration = Duration::from_secs(45);

/// Each row's delivery report, in produce order (twice per row when publishing twice).
type Reports = Vec<(i64, Result<messaging::Delivered, ProduceError>)>;

/// A batch handed to the producer, its reports not yet all in.
struct InFlight {
    ids: Vec<i64>,
    launched: tokio::time::Instant,
    reports: Pin<Box<dyn Future<Output = Reports> + Send>>,
}

/// What one read of the outbox found.
enum Fill {
    /// A batch was produced; `full` when it had `batch_size` rows (more may wait).
    Launched {
        full: bool,
    },
    Empty,
    NotLeader,
}

/// The relay of one service's outbox.
#[derive(Debug)]
pub struct Relay {
    producer: EventProducer,
    leadership: Leadership,
    wakeup: Wakeup,
    config: RelayConfig,
    /// When the last read from the start of the outbox was.
    caught_up: Instant,
}

impl Relay {
    /// The relay of the outbox in `database_url`, which it reads and marks on a session
    /// of its own (the one that holds the leader lock).
    pub fn new(
        database_url: &str,
        producer: EventProducer,
        wakeup: Wakeup,
        config: RelayConfig,
    ) -> Self {
        let leadership = Leadership::new(database_url, config.schema.clone(), config.session);
        Self {
            producer,
            leadership,
            wakeup,
            config,
            caught_up: Instant::now(),
        }
    }

    /// One batch: read, produce in order, await every report, mark.
    pub async fn relay_once(&mut self) -> Result<RelayStep, RelayError> {
        let mut pipeline = VecDeque::new();
        match self.fill(&mut pipeline).await? {
            Fill::Launched { .. } => {}
            Fill::Empty => return Ok(RelayStep::Empty),
            Fill::NotLeader => return Ok(RelayStep::NotLeader),
        }
        let batch = pipeline.pop_front().expect("a batch was launched");
        let reports = batch.reports.await;
        self.settle(reports).await
    }

    /// Publishes until the outbox is empty, through the same pipeline as [`Relay::run`].
    pub async fn drain(&mut self) -> Result<RelayStep, RelayError> {
        let mut pipeline = VecDeque::new();
        let (mut total, mut parked) = (0, 0);
        let mut more = true;
        loop {
            while more && pipeline.len() < MAX_IN_FLIGHT {
                match self.fill(&mut pipeline).await? {
                    Fill::Launched { full } => more = full,
                    Fill::Empty => more = false,
                    Fill::NotLeader => return Ok(RelayStep::NotLeader),
                }
            }
            let Some(batch) = pipeline.pop_front() else {
                break;
            };
            let reports = batch.reports.await;
            match self.settle(reports).await? {
                RelayStep::Published { rows, parked: p } => {
                    total += rows;
                    parked += p;
                }
                other => return Ok(other),
            }
            // What committed while this batch was out.
            more = true;
        }
        Ok(if total == 0 {
            RelayStep::Empty
        } else {
            RelayStep::Published {
                rows: total,
                parked,
            }
        })
    }

    /// Reads unpublished rows not already in `pipeline` and produces them as its newest
    /// batch: the rows after the newest in flight, or from the start of the outbox when
    /// the pipeline is empty or a catch-up read is due. Leadership is checked when the
    /// pipeline is empty (and by every statement on its session).
    async fn fill(&mut self, pipeline: &mut VecDeque<InFlight>) -> Result<Fill, RelayError> {
        if pipeline.is_empty() && !self.leadership.acquire().await? {
            return Ok(Fill::NotLeader);
        }
        let catch_up = pipeline.is_empty() || self.caught_up.elapsed() >= self.config.poll_interval;
        let (after, in_flight): (i64, Vec<i64>) = if catch_up {
            self.caught_up = Instant::now();
            let ids = pipeline.iter().flat_map(|b| b.ids.iter().copied());
            (0, ids.collect())
        } else {
            let newest = pipeline.iter().filter_map(|b| b.ids.last()).max();
            (newest.copied().unwrap_or(0), Vec::new())
        };
        let rows = self.fetch(after, &in_flight).await?;
        if rows.is_empty() {
            return Ok(Fill::Empty);
        }
        let full = rows.len() as i64 >= self.config.batch_size;
        pipeline.push_back(self.launch(&rows).await);
        Ok(Fill::Launched { full })
    }

    /// Unpublished rows after `after` and not in `in_flight`, in id order, read on the
    /// leader's session. A read that skips in-flight ids is not a prepared statement:
    /// planned for its own values, PostgreSQL hashes the ids, where a cached generic
    /// plan would compare each row with every one of them.
    async fn fetch(&mut self, after: i64, in_flight: &[i64]) -> Result<Vec<Row>, RelayError> {
        let deadline = self.leadership.deadline();
        let Some(session) = self.leadership.session() else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query_as(
            "SELECT id, topic, key, event_type, payload::text AS payload, headers FROM outbox
             WHERE published_at IS NULL AND failed_at IS NULL AND id > $2 AND id <> ALL($3)
             ORDER BY id LIMIT $1",
        )
        .bind(self.config.batch_size)
        .bind(after)
        .bind(in_flight)
        .persistent(in_flight.is_empty())
        .fetch_all(session);
        let rows = within(deadline, rows).await;
        rows.map_err(|err| {
            self.leadership.lose();
            err.into()
        })
    }

    /// Hands every row to the producer, in id order, each under its publish span.
    async fn launch(&self, rows: &[Row]) -> InFlight {
        let copies = if self.config.publish_twice { 2 } else { 1 };
        let mut pending = Vec::with_capacity(rows.len() * copies);
        for row in rows {
            let topic = format!("{}{}", self.config.topic_prefix, row.topic);
            let span = publish_span(row, &topic);
            let headers = message_headers(row, &span);
            for _ in 0..copies {
                let delivery = self
                    .producer
                    .enqueue_raw(
                        &topic,
                        row.key.as_bytes(),
                        row.payload.as_bytes(),
                        headers.clone(),
                    )
                    .await;
                pending.push((row.id, span.clone(), delivery));
            }
        }
        let reports = join_all(pending.into_iter().map(|(id, span, delivery)| {
            async move {
                let report = match delivery {
                    Ok(pending) => pending.delivered().await,
                    Err(err) => Err(err),
                };
                (id, report)
            }
            .instrument(span)
        }));
        InFlight {
            ids: rows.iter().map(|r| r.id).collect(),
            launched: tokio::time::Instant::now(),
            reports: Box::pin(reports),
        }
    }

    /// Marks a batch by its reports: the delivered prefix published, what is refused
    /// for good parked, nothing from the first other failure on.
    async fn settle(&mut self, reports: Reports) -> Result<RelayStep, RelayError> {
        let rows = reports.len();
        let mut published = Vec::with_capacity(rows);
        let mut parked = Vec::new();
        let mut stopped = None;
        for (id, report) in reports {
            if published.last() == Some(&id) || parked.iter().any(|(p, _)| *p == id) {
                continue;
            }
            match report {
                Ok(_) => published.push(id),
                Err(err) if err.is_permanent_refusal() => parked.push((id, err.to_string())),
                Err(err) => {
                    stopped = Some(RelayError::Produce { id, source: err });
                    break;
                }
            }
        }
        let deadline = self.leadership.deadline();
        let Some(session) = self.leadership.session() else {
            return Ok(RelayStep::NotLeader);
        };
        if let Err(err) = within(deadline, mark(session, &published, &parked)).await {
            self.leadership.lose();
            return Err(err.into());
        }
        if let Some(err) = stopped {
            return Err(err);
        }
        Ok(RelayStep::Published {
            rows: published.len() + parked.len(),
            parked: parked.len(),
        })
    }

    /// Publishes until `shutdown` resolves, then hands leadership over. A wake-up or
    /// the poll reads new rows at once while earlier batches wait for their reports;
    /// the oldest batch is marked as soon as its reports are in.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut pipeline: VecDeque<InFlight> = VecDeque::new();
        let mut backoff = Duration::from_millis(100);
        // No read before this, whatever wakes the relay: after a failure, or while
        // another relay leads.
        let mut resume_at = tokio::time::Instant::now();
        let mut read_now = true;
        // The fallback poll's period now, and whether the poll (not a wake-up) woke us.
        let mut poll = self.config.poll_interval;
        let mut polled = false;
        loop {
            let resumed = tokio::time::Instant::now() >= resume_at;
            if read_now && resumed && pipeline.len() < MAX_IN_FLIGHT {
                read_now = false;
                match self.fill(&mut pipeline).await {
                    Ok(Fill::Launched { full }) => {
                        read_now = full;
                        poll = self.config.poll_interval;
                    }
                    Ok(Fill::Empty) if polled && pipeline.is_empty() => {
                        poll = (poll * 2)
                            .min(self.config.idle_poll_max.max(self.config.poll_interval));
                    }
                    Ok(Fill::Empty) => {}
                    Ok(Fill::NotLeader) => resume_at = later(Duration::from_secs(1)),
                    Err(err) => {
                        // What is in flight is read and produced again afterwards.
                        pipeline.clear();
                        resume_at = later(self.failed(&err, &mut backoff));
                    }
                }
            }
            // Read again at once when a full batch left more behind and there is room.
            let poll_at = if read_now && pipeline.len() < MAX_IN_FLIGHT {
                resume_at
            } else {
                resume_at.max(later(poll))
            };
            polled = false;
            let overdue_at = pipeline.front().map(|b| b.launched + REPORTS_OVERDUE);
            let oldest = async {
                match pipeline.front_mut() {
                    Some(batch) => (&mut batch.reports).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                reports = oldest => {
                    pipeline.pop_front();
                    match self.settle(reports).await {
                        Ok(RelayStep::NotLeader) => {
                            pipeline.clear();
                            resume_at = later(Duration::from_secs(1));
                        }
                        // Rows that committed meanwhile woke the relay (or the poll
                        // finds them): no read on the off chance.
                        Ok(_) => backoff = Duration::from_millis(100),
                        Err(err) => {
                            pipeline.clear();
                            resume_at = later(self.failed(&err, &mut backoff));
                        }
                    }
                }
                () = sleep_until_some(overdue_at) => {
                    pipeline.clear();
                    self.producer.rebuild("an outbox batch's delivery reports are overdue");
                    read_now = true;
                }
                () = self.wakeup.notified() => {
                    read_now = true;
                    poll = self.config.poll_interval;
                }
                () = tokio::time::sleep_until(poll_at) => {
                    read_now = true;
                    polled = true;
                }
            }
        }
        self.leadership.release().await;
    }

    /// Logs a failed step; returns how long to wait before the next.
    fn failed(&self, err: &RelayError, backoff: &mut Duration) -> Duration {
        tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "Outbox relay step failed; retrying.");
        metrics::counter!("outbox_relay_errors_total").increment(1);
        let wait = *backoff;
        *backoff = (*backoff * 2).min(Duration::from_secs(30));
        wait
    }
}

fn later(wait: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + wait
}

/// Sleeps until `at`; never wakes for `None`.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
