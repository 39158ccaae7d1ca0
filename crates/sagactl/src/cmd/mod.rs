pub(crate) mod bench;
pub(crate) mod databases;
pub(crate) mod dlq;
pub(crate) mod get;
pub(crate) mod inject;
pub(crate) mod load;
pub(crate) mod order;
pub(crate) mod outbox;
pub(crate) mod topics;
pub(crate) mod trace;
pub(crate) mod verify;

use std::time::Duration;

/// A duration in seconds, with or without the unit: `30`, `30s`, `0.5s`.
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let number = text.trim_end_matches('s');
    number
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("not a duration in seconds: {text:?}"))
}
