//! A dead letter as the tools see it, and the selection a command applies to.

use chrono::{DateTime, Utc};
use contracts::headers::{self, dlq};

use crate::dlq::DlqClass;

/// One dead-lettered message, with what its headers say.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub settled: bool,
}

impl DeadLetter {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    pub fn class(&self) -> Option<DlqClass> {
        self.header(dlq::ERROR_CLASS)
            .as_deref()
            .and_then(DlqClass::parse)
    }

    pub fn event_type(&self) -> Option<String> {
        self.header(headers::CE_TYPE)
    }

    pub fn last_failed_at(&self) -> Option<DateTime<Utc>> {
        self.header(dlq::LAST_FAILED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// `<topic>/<partition>/<offset>` the message was first read from.
    pub fn original(&self) -> String {
        format!(
            "{}/{}/{}",
            self.header(dlq::ORIGINAL_TOPIC).unwrap_or_default(),
            self.header(dlq::ORIGINAL_PARTITION).unwrap_or_default(),
            self.header(dlq::ORIGINAL_OFFSET).unwrap_or_default()
        )
    }

    pub fn position(&self) -> String {
        format!("{}:{}", self.partition, self.offset)
    }
}

/// Which dead letters a command applies to; every given criterion must match.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub positions: Vec<(i32, i64)>,
    pub class: Option<DlqClass>,
    pub event_type: Option<String>,
    pub original_topic: Option<String>,
    /// The message key (the order id) or the saga's correlation id.
    pub key: Option<String>,
}

impl Selector {
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        (self.positions.is_empty() || self.positions.contains(&(letter.partition, letter.offset)))
            && self.class.is_none_or(|c| letter.class() == Some(c))
            && self
                .event_type
                .as_ref()
                .is_none_or(|t| letter.event_type().as_ref() == Some(t))
            && self
                .original_topic
                .as_ref()
                .is_none_or(|t| letter.header(dlq::ORIGINAL_TOPIC).as_ref() == Some(t))
            && self.key.as_ref().is_none_or(|k| {
                letter.key == k.as_bytes()
                    || letter.header(headers::CORRELATION_ID).as_ref() == Some(k)
            })
    }
}
