//! Pausing through an outage of the database or the broker: every assigned partition is
//! paused (the loop keeps polling, so the member stays in its group), the messages not
//! handled are remembered per partition, and after a backoff that doubles up to a cap
//! the partitions resume with a seek back to the first of them. Nothing is dead-lettered
//! for an outage.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::Offset;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;

use super::context::SagaConsumerContext;
use super::health::ConsumerHealth;
use crate::error::HandlerError;

type Positions = BTreeMap<(String, i32), i64>;

/// Partitions paused by an outage, and where each resumes.
#[derive(Debug)]
struct Pause {
    resume_at: Instant,
    seek_to: Positions,
}

/// The runtime's outage state: whether it is paused, and how long the next pause lasts.
#[derive(Debug)]
pub(super) struct OutageGate {
    pause: Option<Pause>,
    backoff: Duration,
    first_backoff: Duration,
    max_backoff: Duration,
    health: ConsumerHealth,
    group: String,
}

type Client = StreamConsumer<SagaConsumerContext>;

impl OutageGate {
    pub(super) fn new(config: &super::ConsumerConfig, health: ConsumerHealth) -> Self {
        Self {
            pause: None,
            backoff: config.infrastructure_backoff,
            first_backoff: config.infrastructure_backoff,
            max_backoff: config.max_backoff,
            health,
            group: config.group.clone(),
        }
    }

    pub(super) fn is_paused(&self) -> bool {
        self.pause.is_some()
    }

    /// A transaction committed: the next outage starts with the first backoff again.
    pub(super) fn recovered(&mut self) {
        self.backoff = self.first_backoff;
    }

    /// An outage: pause every assigned partition, remember where each resumes.
    pub(super) fn pause_from(
        &mut self,
        consumer: &Client,
        unprocessed: &[OwnedMessage],
        err: &HandlerError,
    ) {
        let mut pause = self.pause.take().unwrap_or(Pause {
            resume_at: Instant::now(),
            seek_to: BTreeMap::new(),
        });
        remember_positions(&mut pause.seek_to, unprocessed);
        pause.resume_at = Instant::now() + self.backoff;
        tracing::warn!(error = %err, retry_in_ms = self.backoff.as_millis() as u64, "Infrastructure unavailable; pausing consumption.");
        self.backoff = (self.backoff * 2).min(self.max_backoff);
        self.pause = Some(pause);
        self.health.set_paused(true);
        pause_assignment(consumer);
        metrics::counter!("consumer_pauses_total", "group" => self.group.clone()).increment(1);
    }

    /// Messages that arrive while paused were fetched before the pause: they go back.
    pub(super) fn hold_back(&mut self, batch: &[OwnedMessage]) {
        if let Some(pause) = self.pause.as_mut() {
            remember_positions(&mut pause.seek_to, batch);
        }
    }

    /// Once a second: keeps new assignments paused, and resumes once the backoff ended.
    pub(super) fn tick(&mut self, consumer: &Client) {
        let Some(pause) = self.pause.as_ref() else {
            return;
        };
        if Instant::now() < pause.resume_at {
            // Partitions assigned since the pause are paused too.
            pause_assignment(consumer);
            return;
        }
        let assignment = match consumer.assignment() {
            Ok(assignment) => assignment,
            Err(err) => {
                tracing::warn!(error = %err, "Reading the assignment failed; still paused.");
                return;
            }
        };
        // Resume first, then seek: a seek on a paused partition can be overtaken by the
        // resume's fetch start (librdkafka #2190). New assignments resume by themselves
        // from here on (see the context's post_rebalance).
        self.health.set_paused(false);
        if let Err(err) = consumer.resume(&assignment) {
            tracing::warn!(error = %err, "Resuming partitions failed.");
        }
        let pause = self.pause.take().expect("checked above");
        let assigned = assignment.to_topic_map();
        let mut unsought = false;
        for ((topic, partition), offset) in &pause.seek_to {
            if !assigned.contains_key(&(topic.clone(), *partition)) {
                // Revoked meanwhile: whoever owns it now starts at the committed offset,
                // which is at or before this one.
                continue;
            }
            if let Err(err) = consumer.seek(
                topic,
                *partition,
                Offset::Offset(*offset),
                Duration::from_secs(5),
            ) {
                tracing::warn!(error = %err, topic, partition, "Seek refused; staying paused.");
                unsought = true;
            }
        }
        if unsought {
            // The messages held back were fetched already: without the seek they would
            // be skipped. Pause again and retry the whole resume shortly.
            self.pause = Some(Pause {
                resume_at: Instant::now() + Duration::from_secs(1),
                seek_to: pause.seek_to,
            });
            self.health.set_paused(true);
            pause_assignment(consumer);
            return;
        }
        tracing::info!(partitions = pause.seek_to.len(), "Resuming consumption.");
    }
}

fn pause_assignment(consumer: &Client) {
    if let Ok(assignment) = consumer.assignment()
        && let Err(err) = consumer.pause(&assignment)
    {
        tracing::warn!(error = %err, "Pausing partitions failed.");
    }
}

/// Keeps, per partition, the lowest offset not handled.
fn remember_positions(seek_to: &mut Positions, messages: &[OwnedMessage]) {
    for message in messages {
        seek_to
            .entry((message.topic().to_owned(), message.partition()))
            .and_modify(|offset| *offset = (*offset).min(message.offset()))
            .or_insert(message.offset());
    }
}
