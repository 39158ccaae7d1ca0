//! The envelope every message carries in its headers (DESIGN.md §3).

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use uuid::Uuid;

use crate::codec::{DecodeError, EventType};
use crate::headers;

/// Who, what, when and why of one message; the body carries only the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMetadata {
    /// `ce_id`: a UUID v7, the idempotency key of every consumer.
    pub event_id: Uuid,
    /// `ce_type`, versioned.
    pub event_type: EventType,
    /// `ce_source`: `/order-service`, ...
    pub source: String,
    /// `ce_time`, to the microsecond: what the header and PostgreSQL hold.
    pub time: DateTime<Utc>,
    /// The saga id, constant from the first request to the last compensation.
    pub correlation_id: Uuid,
    /// The `ce_id` of the event that caused this one (see DESIGN.md §3 for the rest).
    pub causation_id: Uuid,
}

/// Why the headers of a message do not make an envelope: always poison.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("header {name} is not valid: {value:?}")]
    Invalid { name: &'static str, value: String },
}

impl EventMetadata {
    /// Metadata for a new event of `event_type` emitted by `service` at `time`.
    pub fn new(
        event_type: EventType,
        service: &str,
        time: DateTime<Utc>,
        correlation_id: Uuid,
        causation_id: Uuid,
    ) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type,
            source: format!("/{service}"),
            time: to_micros(time),
            correlation_id,
            causation_id,
        }
    }

    /// The CloudEvents and correlation headers, in the order they are written. Trace
    /// context headers come from the OpenTelemetry propagators, not from here.
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            (headers::CE_SPECVERSION, headers::SPECVERSION.to_owned()),
            (headers::CE_ID, self.event_id.to_string()),
            (headers::CE_TYPE, self.event_type.to_string()),
            (headers::CE_SOURCE, self.source.clone()),
            (
                headers::CE_TIME,
                self.time.to_rfc3339_opts(SecondsFormat::Micros, true),
            ),
            (headers::CONTENT_TYPE, headers::JSON_CONTENT_TYPE.to_owned()),
            (headers::CORRELATION_ID, self.correlation_id.to_string()),
            (headers::CAUSATION_ID, self.causation_id.to_string()),
        ]
    }

    /// Reads the envelope back; `header` returns the last value of a header by name.
    ///
    /// `ce_type` is only checked to be well formed here: whether this reader knows its
    /// version is the codec's question, asked with the body.
    pub fn from_headers<'a>(
        header: impl Fn(&str) -> Option<&'a [u8]>,
    ) -> Result<Self, MetadataError> {
        let text = |name: &'static str| -> Result<&'a str, HeaderError> {
            let raw = header(name).ok_or(HeaderError::Missing(name))?;
            std::str::from_utf8(raw).map_err(|_| HeaderError::Invalid {
                name,
                value: crate::codec::excerpt(&String::from_utf8_lossy(raw)),
            })
        };
        let uuid = |name: &'static str| -> Result<Uuid, HeaderError> {
            let value = text(name)?;
            Uuid::parse_str(value).map_err(|_| HeaderError::Invalid {
                name,
                value: crate::codec::excerpt(value),
            })
        };
        let event_id = uuid(headers::CE_ID)?;
        let event_type = EventType::parse(text(headers::CE_TYPE)?)?;
        let source = text(headers::CE_SOURCE)?.to_owned();
        let time_text = text(headers::CE_TIME)?;
        let time = DateTime::parse_from_rfc3339(time_text)
            .map_err(|_| HeaderError::Invalid {
                name: headers::CE_TIME,
                value: crate::codec::excerpt(time_text),
            })?
            .with_timezone(&Utc);
        // Another writer's offset can carry a valid local time past year 9999 in UTC,
        // which no RFC 3339 header can say: refuse it here, not on the way out.
        if !(0..=9999).contains(&time.year()) {
            return Err(HeaderError::Invalid {
                name: headers::CE_TIME,
                value: crate::codec::excerpt(time_text),
            }
            .into());
        }
        let time = to_micros(time);
        Ok(Self {
            event_id,
            event_type,
            source,
            time,
            correlation_id: uuid(headers::CORRELATION_ID)?,
            causation_id: uuid(headers::CAUSATION_ID)?,
        })
    }
}

/// `time` without its nanoseconds: the header is written to the microsecond, so what is
/// read and written again stays equal (found by the `parse_headers` fuzz target).
/// (Not `duration_trunc`: it works on nanoseconds since 1970, which end in 2262.)
fn to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    time.with_nanosecond(time.nanosecond() / 1000 * 1000)
        .unwrap_or(time)
}

/// A message whose envelope cannot be read: poison, whichever part failed.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error(transparent)]
    Type(#[from] DecodeError),
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn sample() -> EventMetadata {
        EventMetadata::new(
            EventType::new("order.created", 1),
            "order-service",
            "2026-11-27T08:00:00.123456Z".parse().unwrap(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        )
    }

    fn as_map(meta: &EventMetadata) -> HashMap<&'static str, Vec<u8>> {
        meta.to_headers()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect()
    }

    #[test]
    fn headers_round_trip_the_envelope() {
        let meta = sample();
        let map = as_map(&meta);
        let back = EventMetadata::from_headers(|name| map.get(name).map(Vec::as_slice)).unwrap();
        assert_eq!(back, meta);
        assert_eq!(map["ce_source"], b"/order-service");
        assert_eq!(map["ce_time"], b"2026-11-27T08:00:00.123456Z");
    }

    #[test]
    fn a_time_finer_than_a_microsecond_reads_as_what_the_header_would_write() {
        let mut map = as_map(&sample());
        for (text, expected) in [
            (
                "2026-01-01T00:00:00.0000001Z",
                "2026-01-01T00:00:00.000000Z",
            ),
            (
                "4052-01-01T00:00:00.0000001Z",
                "4052-01-01T00:00:00.000000Z",
            ),
        ] {
            map.insert("ce_time", text.as_bytes().to_vec());
            let read =
                EventMetadata::from_headers(|name| map.get(name).map(Vec::as_slice)).unwrap();
            let written = as_map(&read);
            assert_eq!(written["ce_time"], expected.as_bytes());
            let again =
                EventMetadata::from_headers(|name| written.get(name).map(Vec::as_slice)).unwrap();
            assert_eq!(again, read);
        }
        let now = Utc::now();
        let made = EventMetadata::new(EventType::new("a.b", 1), "s", now, Uuid::nil(), Uuid::nil());
        assert_eq!(made.time.timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn a_time_past_year_9999_in_utc_is_invalid() {
        for text in ["9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"] {
            let mut map = as_map(&sample());
            map.insert("ce_time", text.as_bytes().to_vec());
            let err =
                EventMetadata::from_headers(|name| map.get(name).map(Vec::as_slice)).unwrap_err();
            assert!(
                matches!(
                    err,
                    MetadataError::Header(HeaderError::Invalid {
                        name: "ce_time",
                        ..
                    })
                ),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn a_huge_bad_header_is_cut_in_its_error() {
        for name in ["ce_id", "ce_type", "ce_time", "correlation-id"] {
            let mut map = as_map(&sample());
            map.insert(name, "é".repeat(512 * 1024).into_bytes());
            let err =
                EventMetadata::from_headers(|name| map.get(name).map(Vec::as_slice)).unwrap_err();
            let text = err.to_string();
            assert!(text.len() < 300, "{name}: {} bytes of error", text.len());
            assert!(text.contains("(1048576 bytes)"), "{name}: {text}");
        }
    }

    #[test]
    fn a_missing_ce_id_is_reported_by_name() {
        let mut map = as_map(&sample());
        map.remove("ce_id");
        let err = EventMetadata::from_headers(|name| map.get(name).map(Vec::as_slice)).unwrap_err();
        assert!(matches!(
            err,
            MetadataError::Header(HeaderError::Missing("ce_id"))
        ));
    }

    #[test]
    fn a_correlation_id_that_is_not_a_uuid_is_invalid() {
        let mut map = as_map(&sample());
        map.insert("correlation-id", b"not-a-uuid".to_vec());
        let err = EventMetadata::from_headers(|name| map.get(name).map(Vec::as_slice)).unwrap_err();
        assert!(matches!(
            err,
            MetadataError::Header(HeaderError::Invalid {
                name: "correlation-id",
                ..
            })
        ));
    }
}
