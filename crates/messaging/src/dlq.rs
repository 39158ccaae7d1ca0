//! Dead-letter copies: the original key, value and headers, untouched, plus headers
//! that say where the message came from and why it failed (DESIGN.md §3).

use chrono::{DateTime, SecondsFormat, Utc};
use contracts::headers::dlq;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use sha2::Digest as _;

/// Why a message was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlqClass {
    /// It cannot be read: bad body, missing envelope, or a reused event id.
    Poison,
    /// The handler failed on it after every retry.
    Handler,
    /// A type this service handles, at a version it does not know.
    UnsupportedVersion,
}

impl DlqClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DlqClass::Poison => "poison",
            DlqClass::Handler => "handler",
            DlqClass::UnsupportedVersion => "unsupported-version",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "poison" => Some(DlqClass::Poison),
            "handler" => Some(DlqClass::Handler),
            "unsupported-version" => Some(DlqClass::UnsupportedVersion),
            _ => None,
        }
    }
}

/// Where a dead-lettered message was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub group: String,
}

/// What went wrong, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub class: DlqClass,
    pub error: String,
    pub attempts: u32,
    pub first_failed_at: DateTime<Utc>,
    pub last_failed_at: DateTime<Utc>,
}

/// Longest `dlq-error` kept: the message must still fit the DLQ topic.
const MAX_ERROR_CHARS: usize = 2_000;

/// The original headers followed by the DLQ headers.
pub fn dlq_headers<H: Headers>(
    original: Option<&H>,
    origin: &Origin,
    failure: &Failure,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = original {
        for header in original.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let error: String = failure.error.chars().take(MAX_ERROR_CHARS).collect();
    let added = [
        (dlq::ORIGINAL_TOPIC, origin.topic.clone()),
        (dlq::ORIGINAL_PARTITION, origin.partition.to_string()),
        (dlq::ORIGINAL_OFFSET, origin.offset.to_string()),
        (dlq::CONSUMER_GROUP, origin.group.clone()),
        (dlq::ERROR_CLASS, failure.class.as_str().to_owned()),
        (dlq::ERROR, error),
        (dlq::ATTEMPTS, failure.attempts.to_string()),
        (dlq::FIRST_FAILED_AT, time(&failure.first_failed_at)),
        (dlq::LAST_FAILED_AT, time(&failure.last_failed_at)),
    ];
    for (key, value) in added {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    headers
}

/// Most bytes of original headers (keys and values) a stub copy keeps: the stub must
/// fit the DLQ topic whatever the original carried.
const STUB_HEADER_BUDGET: usize = 64 * 1024;

/// The headers of a stub copy, sent with an empty body when the broker refused the
/// full copy (too large once the DLQ headers are added, say): the original headers up
/// to [`STUB_HEADER_BUDGET`], the DLQ headers, and `dlq-body-omitted`,
/// `dlq-original-size` and `dlq-body-sha256`, so an operator can still tell what was
/// lost and match it against the source. A stub cannot be replayed.
pub fn stub_headers<H: Headers>(
    original: Option<&H>,
    origin: &Origin,
    failure: &Failure,
    body: &[u8],
    refusal: &str,
) -> OwnedHeaders {
    let mut kept = OwnedHeaders::new();
    let (mut used, mut dropped) = (0, 0);
    for header in original.into_iter().flat_map(|h| h.iter()) {
        let size = header.key.len() + header.value.map_or(0, <[u8]>::len);
        if used + size > STUB_HEADER_BUDGET {
            dropped += 1;
            continue;
        }
        used += size;
        kept = kept.insert(Header {
            key: header.key,
            value: header.value,
        });
    }
    let refusal: String = refusal.chars().take(500).collect();
    let mut omitted = format!("the broker refused the full copy: {refusal}");
    if dropped > 0 {
        omitted.push_str(&format!(
            "; {dropped} original headers beyond {STUB_HEADER_BUDGET} bytes dropped"
        ));
    }
    let sha: String = sha2::Sha256::digest(body)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut headers = dlq_headers(Some(&kept), origin, failure);
    for (key, value) in [
        (dlq::BODY_OMITTED, omitted),
        (dlq::ORIGINAL_SIZE, body.len().to_string()),
        (dlq::BODY_SHA256, sha),
    ] {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    headers
}

/// The headers a replay sends to `<group>.retry`: the original ones, without the DLQ
/// headers, plus `dlq-replay-of=<partition>:<offset>` of the DLQ message replayed.
pub fn replay_headers<H: Headers>(
    dead: Option<&H>,
    dlq_partition: i32,
    dlq_offset: i64,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    if let Some(dead) = dead {
        for header in dead.iter().filter(|h| !h.key.starts_with("dlq-")) {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    let replay_of = format!("{dlq_partition}:{dlq_offset}");
    headers.insert(Header {
        key: dlq::REPLAY_OF,
        value: Some(replay_of.as_bytes()),
    })
}
