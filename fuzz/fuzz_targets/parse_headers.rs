//! `EventMetadata::from_headers` on arbitrary header lists.
//!
//! Input format (the seeds in `fuzz/seeds/parse_headers` use it): one header per line
//! (split on `\n`). `name=value` is a header with that value (the bytes after the first
//! `=`, any bytes but `\n`); a line without `=` is a header with a null value, as Kafka
//! allows. Names are taken as UTF-8 lossily (rdkafka's header keys are `&str`). Lookup
//! is the consumer's (`messaging::headers::last_value`): the last header of that name
//! wins, and if its value is null the header counts as missing even when an earlier
//! one had a value.
//!
//! Properties, beyond "never panics": every `Ok(metadata)` writes headers
//! (`to_headers`) that read back to equal metadata and rewrite to the same headers;
//! and the `ce_type` it read is one `EventType::parse` accepts.
#![no_main]

use contracts::{EventMetadata, EventType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let headers: Vec<(String, Option<&[u8]>)> = data
        .split(|&b| b == b'\n')
        .map(|line| match line.iter().position(|&b| b == b'=') {
            Some(i) => (
                String::from_utf8_lossy(&line[..i]).into_owned(),
                Some(&line[i + 1..]),
            ),
            None => (String::from_utf8_lossy(line).into_owned(), None),
        })
        .collect();
    let last_value = |name: &str| -> Option<&[u8]> {
        headers
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| *value)
    };

    let Ok(metadata) = EventMetadata::from_headers(last_value) else {
        return;
    };

    let written = metadata.to_headers();
    let again = EventMetadata::from_headers(|name| {
        written
            .iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_bytes())
    })
    .unwrap_or_else(|e| {
        panic!("the headers written for {metadata:?} do not read back ({e}): {written:?}")
    });
    assert_eq!(
        again, metadata,
        "metadata does not round-trip through to_headers: wrote {written:?}"
    );
    assert_eq!(again.to_headers(), written, "headers are not stable");
    assert_eq!(
        EventType::parse(&metadata.event_type.to_string())
            .ok()
            .as_ref(),
        Some(&metadata.event_type)
    );
});
