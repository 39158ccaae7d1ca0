//! Sorting a message before any database work: skip, dead-letter at once, or handle.

use contracts::{DecodeError, EventMetadata, SagaEvent};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

use super::{Envelope, Handler};
use crate::dlq::DlqClass;
use crate::headers::last_value;
use crate::inbox::body_sha256;

/// What to do with a message.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// A type this service does not handle: store the offset, log, move on.
    Skip(String),
    /// Dead-letter at once, with this class and reason.
    DeadLetter(DlqClass, String),
    /// Handle it.
    Handle(Box<Envelope>, [u8; 32]),
}

pub(crate) fn prepare<H: Handler>(handler: &H, message: &OwnedMessage) -> Prepared {
    let Some(headers) = message.headers() else {
        return Prepared::DeadLetter(DlqClass::Poison, "the message has no headers".to_owned());
    };
    let metadata = match EventMetadata::from_headers(|name| last_value(headers, name)) {
        Ok(metadata) => metadata,
        Err(err) => return Prepared::DeadLetter(DlqClass::Poison, err.to_string()),
    };
    let name = metadata.event_type.name().to_owned();
    if !handler.handles(&name) {
        return Prepared::Skip(format!(
            "{} is not handled by this service",
            metadata.event_type
        ));
    }
    let body = message.payload().unwrap_or_default();
    let event = match SagaEvent::decode(&metadata.event_type.to_string(), body) {
        Ok(event) => event,
        Err(DecodeError::UnknownType(t)) => {
            return Prepared::Skip(format!("{t} is not a known event"));
        }
        Err(err @ DecodeError::UnsupportedVersion { .. }) => {
            return Prepared::DeadLetter(DlqClass::UnsupportedVersion, err.to_string());
        }
        Err(err) => return Prepared::DeadLetter(DlqClass::Poison, err.to_string()),
    };
    let sha = body_sha256(body);
    Prepared::Handle(
        Box::new(Envelope {
            metadata,
            event,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        }),
        sha,
    )
}
