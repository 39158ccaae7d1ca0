//! Kafka headers: the CloudEvents envelope plus W3C trace context and baggage.
//!
//! The OpenTelemetry propagators write `traceparent`, `tracestate` and `baggage`
//! through [`HeaderInjector`]; [`HeaderExtractor`] reads them back on the consumer side.

use contracts::EventMetadata;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::{Context, KeyValue, global};
use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Baggage key under which the saga's correlation id travels.
pub const CORRELATION_BAGGAGE_KEY: &str = "saga.correlation_id";

/// Collects propagator output as plain `(name, value)` pairs.
#[derive(Debug, Default)]
pub struct HeaderInjector(pub Vec<(String, String)>);

impl Injector for HeaderInjector {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value));
    }
}

/// Reads propagator input from a received message's headers.
#[derive(Debug)]
pub struct HeaderExtractor<'a, H: Headers>(pub &'a H);

impl<H: Headers> Extractor for HeaderExtractor<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        last_value(self.0, key).and_then(|v| std::str::from_utf8(v).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|h| h.key).collect()
    }
}

/// Reads propagator input from stored headers (an outbox row's `headers` column).
#[derive(Debug)]
pub struct HeaderExtractorMap<'a>(pub &'a std::collections::BTreeMap<String, String>);

impl Extractor for HeaderExtractorMap<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The value of the last header named `name`: Kafka allows repeats, and the last wins.
pub fn last_value<'a, H: Headers>(headers: &'a H, name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .filter(|h| h.key == name)
        .last()
        .and_then(|h| h.value)
}

/// Every header as `(name, text)`, values read as UTF-8 lossily and a null value as
/// empty: for tools and tests that show or compare headers.
pub fn as_text<H: Headers>(headers: &H) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.key.to_owned(),
                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
            )
        })
        .collect()
}

/// `cx` with the correlation id added to its baggage, so every hop can read it.
pub fn with_correlation(cx: &Context, correlation_id: &str) -> Context {
    cx.with_baggage([KeyValue::new(
        CORRELATION_BAGGAGE_KEY,
        correlation_id.to_owned(),
    )])
}

/// Trace context and baggage of `cx`, as the global propagator writes them.
pub fn trace_headers(cx: &Context) -> Vec<(String, String)> {
    let mut injector = HeaderInjector::default();
    global::get_text_map_propagator(|propagator| propagator.inject_context(cx, &mut injector));
    injector.0
}

/// The context a received message carries, for the consume span's parent.
pub fn extract_context<H: Headers>(headers: &H) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Every header of an event message, as text: the envelope of `metadata`, then the
/// trace context and baggage of `cx` (with the correlation id in the baggage). The
/// outbox stores these; tests and tools produce them directly with [`event_headers`].
pub fn event_header_pairs(metadata: &EventMetadata, cx: &Context) -> Vec<(String, String)> {
    let cx = with_correlation(cx, &metadata.correlation_id.to_string());
    let mut pairs: Vec<(String, String)> = metadata
        .to_headers()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    pairs.extend(trace_headers(&cx));
    pairs
}

/// [`event_header_pairs`] as Kafka headers.
pub fn event_headers(metadata: &EventMetadata, cx: &Context) -> OwnedHeaders {
    to_owned_headers(event_header_pairs(metadata, cx))
}

/// Builds Kafka headers from `(name, value)` pairs.
pub fn to_owned_headers(pairs: impl IntoIterator<Item = (String, String)>) -> OwnedHeaders {
    pairs
        .into_iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key: &key,
                value: Some(value.as_bytes()),
            })
        })
}
