//! The transactions of the consumer runtime: a batch in one transaction, or one message
//! in its own. Each starts by locking the state rows of its orders and recording its
//! events in the inbox, in one statement, then handles the new events; the effects, the
//! outbox rows and the inbox rows commit together.

use std::sync::Arc;

use rdkafka::message::OwnedMessage;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use super::Envelope;
use super::Handler;
use super::observe::{self, Applied, SkipLog, message_span};
use super::prepare::Prepared;
use crate::error::{ErrorClass, HandlerError};
use crate::inbox::{self, InboxOutcome};

/// How far a batch transaction got.
pub(super) enum BatchResult {
    /// Every message committed.
    All,
    /// The messages before this index committed; the rest go one by one, starting with
    /// the one that stopped the batch (with its failure, if the handler failed).
    Prefix(usize, Option<HandlerError>),
    /// Nothing committed: the database is away.
    Outage(HandlerError),
}

/// What the runtime's transactions work with.
pub(super) struct Transactions<H: Handler> {
    pub(super) handler: Arc<H>,
    pub(super) pool: PgPool,
    pub(super) group: String,
    pub(super) skips: SkipLog,
    /// The batch's lock and inbox insert, for the handler's state table.
    pub(super) admission_sql: String,
    /// Its query summary, the name of its database span.
    pub(super) admission_summary: String,
}

impl<H: Handler> Transactions<H> {
    /// Every message in one transaction, stopping at the first that fails or needs a
    /// dead letter. The batch's orders are locked and its events recorded in the inbox
    /// up front, in one statement. No savepoint per message (two round trips each):
    /// when a handler fails, the transaction is rolled back and the messages before it
    /// are committed again on their own, which costs something only on the rare failure.
    pub(super) async fn try_batch(
        &self,
        batch: &[OwnedMessage],
        prepared: &[Prepared],
    ) -> BatchResult {
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
        if to_handle.is_empty() {
            // Only events this group ignores (most of inventory's `order-events`): no
            // transaction, whose BEGIN and COMMIT would be two round trips for nothing.
            for (message, prep) in batch[..end].iter().zip(prepared) {
                if let Prepared::Skip(reason) = prep {
                    self.skips.record(message, reason);
                }
            }
            return if end == batch.len() {
                BatchResult::All
            } else {
                BatchResult::Prefix(end, None)
            };
        }
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(err) => return outage_or(err.into(), BatchResult::Prefix(0, None)),
        };
        // The first handled message's span also holds what the batch's messages share:
        // the statement that admits them all, and the commit. Every message's span
        // lasts until the commit, when its effect is done.
        let mut host = batch[..end]
            .iter()
            .zip(prepared)
            .find_map(|(message, prep)| match prep {
                Prepared::Handle(envelope, _) => Some(message_span(&self.group, message, envelope)),
                _ => None,
            });
        let shared = host.clone().unwrap_or_else(tracing::Span::none);
        let admission = self.admit(&mut tx, &to_handle).instrument(shared.clone());
        let mut admitted = match admission.await {
            Ok(admitted) => admitted.into_iter(),
            // Not one message's fault: each goes on alone, with its own retries.
            Err(err) => return outage_or(err, BatchResult::Prefix(0, None)),
        };
        let mut outcomes = Vec::with_capacity(to_handle.len());
        let mut spans = Vec::with_capacity(to_handle.len());
        for (index, (message, prep)) in batch[..end].iter().zip(prepared).enumerate() {
            let envelope = match prep {
                Prepared::Skip(reason) => {
                    self.skips.record(message, reason);
                    continue;
                }
                Prepared::DeadLetter(..) => unreachable!("the batch stops before a dead letter"),
                Prepared::Handle(envelope, _) => envelope,
            };
            let span = host
                .take()
                .unwrap_or_else(|| message_span(&self.group, message, envelope));
            let admission = admitted.next().expect("one admission per handled message");
            let applied = self
                .apply(&mut tx, envelope, admission)
                .instrument(span.clone())
                .await;
            spans.push(span);
            match applied {
                // The batch's lock may have created a state row for the body's order:
                // undone with the rest; the message goes on alone to the DLQ.
                Ok(Applied::Conflict) => {
                    drop((tx, spans, shared));
                    return self.redo_prefix(batch, prepared, index, None).await;
                }
                Ok(applied) => outcomes.push((applied, envelope)),
                Err(err) => {
                    if err.class() == ErrorClass::Infrastructure {
                        return BatchResult::Outage(err);
                    }
                    // Its writes, or an aborted transaction, are in `tx`. This try's
                    // spans end here; the redo has its own.
                    drop((tx, spans, shared));
                    return self.redo_prefix(batch, prepared, index, Some(err)).await;
                }
            }
        }
        // No span for a batch that handled nothing: it would be a trace of its own.
        let commit = if shared.is_none() {
            tracing::Span::none()
        } else {
            shared.in_scope(|| telemetry::db_span!("COMMIT"))
        };
        let committed = tx.commit().instrument(commit).await;
        drop((spans, shared));
        match committed {
            Ok(()) => {
                for (applied, envelope) in outcomes {
                    observe::count(&self.group, applied, envelope);
                }
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

    /// One try of one message, in a transaction of its own.
    pub(super) async fn attempt(
        &self,
        envelope: &Envelope,
        sha: &[u8; 32],
    ) -> Result<Applied, HandlerError> {
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
                tx.commit()
                    .instrument(telemetry::db_span!("COMMIT"))
                    .await?;
                Ok(applied)
            }
            Err(err) => {
                // Released now, not when the connection is next used: a backoff after
                // this must not hold the order's lock.
                let _ = tx.rollback().await;
                Err(err)
            }
        }
    }

    /// Locks the orders of `messages` and records their events in the inbox: the start
    /// of every transaction, one statement however many messages it carries, in one
    /// database span (with the second statement a redelivery costs).
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
        let group = &self.group;
        let span = tracing::info_span!(
            target: telemetry::DB_TARGET,
            "INSERT processed_messages",
            otel.name = self.admission_summary.as_str(),
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = telemetry::db_namespace(),
            db.operation.name = "INSERT",
            db.collection.name = "processed_messages",
            db.query.summary = self.admission_summary.as_str(),
            messaging.batch.message_count = messages.len() as i64,
        );
        let admitted = async {
            let inserted =
                inbox::insert_all(tx, &self.admission_sql, group, &events, Some(&orders)).await?;
            inbox::classify(tx, group, &events, &inserted).await
        };
        Ok(admitted.instrument(span).await?)
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
}

fn outage_or(err: HandlerError, otherwise: BatchResult) -> BatchResult {
    if err.class() == ErrorClass::Infrastructure {
        BatchResult::Outage(err)
    } else {
        otherwise
    }
}
