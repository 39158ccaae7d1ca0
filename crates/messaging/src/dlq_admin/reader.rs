//! Reading dead letters: a stream, partition by partition, that holds a few letters at a
//! time however deep the DLQ is, and one letter read at its position.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cursor::Cursor;
use super::{DeadLetter, DlqAdmin, DlqAdminError, TIMEOUT};

/// Letters read ahead of the caller: each may be up to 4 MiB.
const READ_AHEAD: usize = 8;

/// Dead letters in partition and offset order, read as they are asked for.
#[derive(Debug)]
pub struct LetterStream {
    letters: mpsc::Receiver<Result<DeadLetter, DlqAdminError>>,
    reader: Option<JoinHandle<()>>,
}

impl LetterStream {
    pub async fn next(&mut self) -> Option<Result<DeadLetter, DlqAdminError>> {
        if let Some(letter) = self.letters.recv().await {
            return Some(letter);
        }
        // The reader ended; a panic in it is an error, not the end of the listing.
        match self.reader.take()?.await {
            Ok(()) => None,
            Err(err) => Some(Err(err.into())),
        }
    }
}

impl DlqAdmin {
    /// Streams the dead letters past the cursor (every one with `include_settled`) up
    /// to the end of each partition as it was when the stream started.
    pub fn stream(&self, include_settled: bool) -> LetterStream {
        let (sender, letters) = mpsc::channel(READ_AHEAD);
        let this = self.clone();
        let reader = tokio::task::spawn_blocking(move || {
            if let Err(err) = this.read_into(include_settled, &sender) {
                let _ = sender.blocking_send(Err(err));
            }
        });
        LetterStream {
            letters,
            reader: Some(reader),
        }
    }

    /// The letter at `partition:offset`, read directly.
    pub async fn get(&self, partition: i32, offset: i64) -> Result<DeadLetter, DlqAdminError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.get_blocking(partition, offset)).await?
    }

    fn reader(&self) -> Result<BaseConsumer, KafkaError> {
        self.kafka
            .client()
            .set("group.id", "sagactl-dlq-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("queued.max.messages.kbytes", "8192")
            .create()
    }

    fn read_into(
        &self,
        include_settled: bool,
        sender: &mpsc::Sender<Result<DeadLetter, DlqAdminError>>,
    ) -> Result<(), DlqAdminError> {
        let topic = self.topic();
        let reader = self.reader()?;
        let cursors: BTreeMap<i32, Cursor> = self.cursors()?.into_iter().collect();
        for (partition, cursor) in &cursors {
            let (low, high) = reader.fetch_watermarks(&topic, *partition, TIMEOUT)?;
            let start = if include_settled {
                low
            } else {
                cursor.offset.max(low)
            };
            if start >= high {
                continue;
            }
            assign(&reader, &topic, *partition, start)?;
            loop {
                let message = match next_message(&reader, &topic, *partition, start)? {
                    Some(message) if message.offset() < high => message,
                    _ => break,
                };
                let settled = cursor.is_settled(message.offset());
                let at_end = message.offset() + 1 >= high;
                if include_settled || !settled {
                    let letter = letter_of(&message, settled);
                    if sender.blocking_send(Ok(letter)).is_err() {
                        return Ok(()); // Nobody reads any more.
                    }
                }
                if at_end {
                    break;
                }
            }
        }
        Ok(())
    }

    fn get_blocking(&self, partition: i32, offset: i64) -> Result<DeadLetter, DlqAdminError> {
        let topic = self.topic();
        let not_found = || DlqAdminError::NotFound {
            topic: topic.clone(),
            partition,
            offset,
        };
        let cursors = self.cursors()?;
        let cursor = cursors
            .iter()
            .find(|(p, _)| *p == partition)
            .map(|(_, c)| c)
            .ok_or_else(not_found)?;
        let reader = self.reader()?;
        let (low, high) = reader.fetch_watermarks(&topic, partition, TIMEOUT)?;
        if offset < low || offset >= high {
            return Err(not_found());
        }
        assign(&reader, &topic, partition, offset)?;
        match next_message(&reader, &topic, partition, offset)? {
            Some(message) if message.offset() == offset => {
                Ok(letter_of(&message, cursor.is_settled(offset)))
            }
            _ => Err(not_found()),
        }
    }
}

fn assign(reader: &BaseConsumer, topic: &str, partition: i32, from: i64) -> Result<(), KafkaError> {
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Offset(from))?;
    reader.assign(&assignment)
}

/// The next message of the one assigned partition, or `None` at its end.
fn next_message<'a>(
    reader: &'a BaseConsumer,
    topic: &str,
    partition: i32,
    from: i64,
) -> Result<Option<BorrowedMessage<'a>>, DlqAdminError> {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while std::time::Instant::now() < deadline {
        match reader.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => return Ok(Some(message)),
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok(None),
            Some(Err(err)) => return Err(err.into()),
            None => {}
        }
    }
    Err(DlqAdminError::Stalled {
        topic: topic.to_owned(),
        partition,
        offset: from,
    })
}

fn letter_of(message: &BorrowedMessage<'_>, settled: bool) -> DeadLetter {
    DeadLetter {
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().unwrap_or_default().to_vec(),
        payload: message.payload().unwrap_or_default().to_vec(),
        headers: message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default(),
        settled,
    }
}
