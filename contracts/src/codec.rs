//! Versioned event types and body decoding.
//!
//! A `ce_type` is `<domain>.<name>.v<version>`, e.g. `order.created.v1`. Decoding sorts
//! every failure into what the consumer must do with it: a malformed type or body is
//! poison (dead-letter at once), a known event at a version this build does not know is
//! unsupported (dead-letter at once, never skip: a newer writer is waiting for a newer
//! reader), and a well-formed type this topic does not carry is unknown (skip, log).

use std::fmt;

use serde::de::DeserializeOwned;

/// Characters of a rejected value kept in its error.
const EXCERPT_CHARS: usize = 64;

/// `value`, or its first characters and its size: errors about a header go to logs and
/// to `dlq-error`, and a header can be a megabyte of anything.
pub(crate) fn excerpt(value: &str) -> String {
    let mut shown: String = value.chars().take(EXCERPT_CHARS).collect();
    if shown.len() < value.len() {
        shown.push_str(&format!("… ({} bytes)", value.len()));
    }
    shown
}

/// A parsed `ce_type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType {
    name: String,
    version: u32,
}

impl EventType {
    pub fn new(name: &str, version: u32) -> Self {
        Self {
            name: name.to_owned(),
            version,
        }
    }

    /// Parses `order.created.v1`; anything else is poison.
    pub fn parse(raw: &str) -> Result<Self, DecodeError> {
        let malformed = || DecodeError::MalformedType(excerpt(raw));
        let (name, version) = raw.rsplit_once(".v").ok_or_else(malformed)?;
        let version: u32 = version.parse().map_err(|_| malformed())?;
        let well_formed = name.split('.').count() == 2
            && name.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            });
        if !well_formed || version == 0 || version.to_string().len() != raw.len() - name.len() - 2 {
            return Err(malformed());
        }
        Ok(Self {
            name: name.to_owned(),
            version,
        })
    }

    /// `order.created`, without the version.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The part before the first dot: `order`, `payment` or `stock`.
    pub fn domain(&self) -> &str {
        self.name.split('.').next().unwrap_or_default()
    }

    pub fn version(&self) -> u32 {
        self.version
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.v{}", self.name, self.version)
    }
}

/// Why a message could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// `ce_type` is not of the form `<domain>.<name>.v<version>`: poison.
    #[error("malformed event type {0:?}")]
    MalformedType(String),
    /// The body does not decode as the type it claims to be: poison.
    #[error("body of {event_type} does not decode: {source}")]
    InvalidBody {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    /// A known event at a version this build cannot read: dead-lettered, never skipped.
    #[error("unsupported version of {event_type} (this build reads up to v{known})")]
    UnsupportedVersion { event_type: String, known: u32 },
    /// A well-formed type that this topic does not carry: skipped with a log line.
    #[error("unknown event type {0}")]
    UnknownType(String),
}

impl DecodeError {
    /// Poison goes to the dead letter topic at once.
    pub fn is_poison(&self) -> bool {
        matches!(
            self,
            DecodeError::MalformedType(_) | DecodeError::InvalidBody { .. }
        )
    }
}

/// Decodes a payload whose current version is `current`.
///
/// This is where upcasters go: when an event gets a v2, a v1 body is read here and
/// converted, so every reader above the codec sees only the current shape.
pub(crate) fn decode_versioned<P: DeserializeOwned>(
    event_type: &EventType,
    current: u32,
    body: &[u8],
) -> Result<P, DecodeError> {
    if event_type.version() != current {
        return Err(DecodeError::UnsupportedVersion {
            event_type: event_type.to_string(),
            known: current,
        });
    }
    serde_json::from_slice(body).map_err(|source| DecodeError::InvalidBody {
        event_type: event_type.to_string(),
        source,
    })
}

/// The name a unit enum value (a reason, a status) has in JSON: what it is stored and
/// counted as. `None` for a value that is not a plain string in JSON.
pub fn json_name<T: serde::Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_unit_value_is_named_as_in_json() {
        use crate::events::{CancelReason, PaymentFailureReason};
        assert_eq!(
            json_name(&CancelReason::PaymentDeclined).as_deref(),
            Some("payment_declined")
        );
        assert_eq!(
            json_name(&PaymentFailureReason::InsufficientFunds).as_deref(),
            Some("insufficient_funds")
        );
        assert_eq!(json_name(&42), None);
    }
    use super::*;

    #[test]
    fn a_well_formed_type_parses_into_name_and_version() {
        let parsed = EventType::parse("order.created.v12").unwrap();
        assert_eq!(parsed.name(), "order.created");
        assert_eq!(parsed.domain(), "order");
        assert_eq!(parsed.version(), 12);
        assert_eq!(parsed.to_string(), "order.created.v12");
    }

    #[test]
    fn malformed_types_are_poison() {
        for raw in [
            "",
            "order",
            "order.created",
            "order.created.v",
            "order.created.v0",
            "order.created.v01",
            "order.created.vx",
            "order.created.v+1",
            "Order.created.v1",
            "order..v1",
            "a.b.c.v1",
            "order.created.v1 ",
        ] {
            let err = EventType::parse(raw).unwrap_err();
            assert!(err.is_poison(), "{raw:?} should be poison, got {err}");
        }
    }
}
