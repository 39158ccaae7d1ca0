//! The idempotent consumer's inbox: one row per handled event, written in the same
//! transaction as the event's effect, so an effect and its "done" mark commit together.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// What the inbox says about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOutcome {
    /// First sight: apply it.
    New,
    /// Handled before with the same body: skip it.
    Duplicate,
    /// Handled before with another body under the same id: poison.
    Conflict,
}

pub fn body_sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Records every `(event_id, sha256)` of a batch for `group` in one statement, in the
/// caller's transaction, and says what each one is. The second sight of an id within
/// the batch is judged against the first: a `Duplicate` with the same body, a
/// `Conflict` with another. Ids seen before the batch cost a second statement, which
/// only a redelivery or a replay pays.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_all(
    tx: &mut PgConnection,
    group: &str,
    events: &[(Uuid, [u8; 32])],
) -> Result<Vec<InboxOutcome>, sqlx::Error> {
    let sql = format!("{INSERT_ALL} RETURNING event_id");
    let inserted = insert_all(tx, &sql, group, events, None).await?;
    classify(tx, group, events, &inserted).await
}

/// The batch insert of [`record_all`], binding the group, the ids and the hashes as
/// `$1`, `$2` and `$3`. The consumer runtime runs it in one statement with its lock.
pub(crate) const INSERT_ALL: &str =
    "INSERT INTO processed_messages (consumer_group, event_id, body_sha256)
     SELECT $1, id, sha FROM unnest($2::uuid[], $3::bytea[]) AS t(id, sha)
     ON CONFLICT DO NOTHING";

/// Runs `sql`, an [`INSERT_ALL`] that returns `event_id`, for `events` (with `extra` as
/// `$4` when given), and returns the ids it inserted.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn insert_all(
    tx: &mut PgConnection,
    sql: &str,
    group: &str,
    events: &[(Uuid, [u8; 32])],
    extra: Option<&[Uuid]>,
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
    let shas: Vec<&[u8]> = events.iter().map(|(_, sha)| &sha[..]).collect();
    let mut query = sqlx::query_scalar(sql).bind(group).bind(ids).bind(shas);
    if let Some(extra) = extra {
        query = query.bind(extra);
    }
    Ok(query.fetch_all(&mut *tx).await?.into_iter().collect())
}

/// What each of `events` is, given the ids a batch insert of them `inserted`.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn classify(
    tx: &mut PgConnection,
    group: &str,
    events: &[(Uuid, [u8; 32])],
    inserted: &HashSet<Uuid>,
) -> Result<Vec<InboxOutcome>, sqlx::Error> {
    // First sight in this batch: id → its body's hash.
    let mut first: HashMap<Uuid, [u8; 32]> = HashMap::with_capacity(events.len());
    let mut earlier: Vec<Uuid> = Vec::new();
    for (id, sha) in events {
        if inserted.contains(id) {
            first.entry(*id).or_insert(*sha);
        } else {
            earlier.push(*id);
        }
    }
    let stored: HashMap<Uuid, Vec<u8>> = if earlier.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (Uuid, Vec<u8>)>(
            "SELECT event_id, body_sha256 FROM processed_messages
             WHERE consumer_group = $1 AND event_id = ANY($2)",
        )
        .bind(group)
        .bind(&earlier)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect()
    };
    let mut claimed: HashSet<Uuid> = HashSet::with_capacity(first.len());
    events
        .iter()
        .map(|(id, sha)| {
            let known: &[u8] = match first.get(id) {
                Some(_) if claimed.insert(*id) => return Ok(InboxOutcome::New),
                Some(first_sha) => &first_sha[..],
                // Gone between the two statements (pruned): try the batch again.
                None => stored.get(id).ok_or(sqlx::Error::RowNotFound)?,
            };
            Ok(if known == &sha[..] {
                InboxOutcome::Duplicate
            } else {
                InboxOutcome::Conflict
            })
        })
        .collect()
}
