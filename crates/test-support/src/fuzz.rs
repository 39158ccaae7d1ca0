//! Inputs for property-based fuzzing of the HTTP APIs.

use proptest::prelude::*;
use serde_json::Value;
use service_kit::http::MAX_BODY_BYTES;

/// Any JSON value, nested a little, with the awkward corners: huge and negative
/// numbers, floats, unicode and control characters, empty containers.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any request body: JSON, raw bytes, or one around the services' body limit.
pub fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => around_limit("quantity"),
    ]
}

/// A JSON object with one string `field` that makes the body just under, just over or
/// far over [`MAX_BODY_BYTES`].
pub fn around_limit(field: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        MAX_BODY_BYTES - 4 * 1024,
        MAX_BODY_BYTES + 1,
        MAX_BODY_BYTES * 3,
    ])
    .prop_map(move |size| format!("{{\"{field}\": \"{}\"}}", "x".repeat(size)).into_bytes())
}

/// Percent-encodes every byte but ASCII letters and digits, for a path segment.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An HTTP client that opens a connection per request. The fuzzers' inputs make a
/// server close connections (a refused body is not read, and the connection then goes),
/// and a pooled connection reused just as the server closes it fails the next request
/// for no fault of the service.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client with default TLS settings")
}

/// Sends `request` (whose body is `body_len` bytes) and returns the status and body.
/// `None` when the connection closed under a body over [`MAX_BODY_BYTES`]: HTTP lets a
/// server answer early and close instead of reading a body it refuses, and the client,
/// still sending, may then see the close rather than the answer. Any other failure to
/// get an answer panics.
pub async fn send(request: reqwest::RequestBuilder, body_len: usize) -> Option<(u16, String)> {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            Some((status, response.text().await.unwrap_or_default()))
        }
        Err(err) if body_len > MAX_BODY_BYTES && (err.is_request() || err.is_body()) => None,
        Err(err) => panic!("the service did not answer: {err}"),
    }
}

/// A proptest runner for `FUZZ_CASES` cases (`default` when unset), failures not
/// persisted: the seed and the shrunk input are printed instead.
pub fn runner(default: u32) -> proptest::test_runner::TestRunner {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })
}
