//! Property-based fuzzing of every HTTP endpoint of the three services (the order API's
//! request bodies are fuzzed in depth by `services/order/tests/api/fuzz.rs`): random
//! path segments, query strings, JSON and raw bodies, and wrong methods. No answer is a
//! 5xx, every refusal is a JSON 4xx with an `error`, and every service still serves.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use test_support::fuzz::{any_body, client, runner, send, urlencode};

use crate::stack::Stack;

/// `(service index, method, path with {} for the segment, takes a body)`.
const ENDPOINTS: [(usize, &str, &str, bool); 10] = [
    (0, "POST", "/orders", true),
    (0, "GET", "/orders/{}", false),
    (0, "GET", "/orders/{}/events", false),
    (0, "POST", "/orders/{}/cancel", true),
    (0, "POST", "/orders/{}/ship", true),
    (1, "GET", "/payments/{}", false),
    (1, "GET", "/accounts/{}", false),
    (2, "GET", "/stock/{}", false),
    (2, "POST", "/stock/{}/restock", true),
    (2, "GET", "/openapi.json", false),
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("00000000-0000-0000-0000-000000000000".to_owned()),
        Just("sku-widget".to_owned()),
        Just("c-rich".to_owned()),
        ".{0,40}".prop_map(|s| urlencode(&s)),
        (1usize..20_000).prop_map(|n| "a".repeat(n)),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("?at=2026-11-27T10:00:00Z".to_owned()),
        ".{0,30}".prop_map(|s| format!("?at={}", urlencode(&s))),
        ".{0,30}".prop_map(|s| format!("?{}", urlencode(&s))),
    ]
}

fn method() -> impl Strategy<Value = Option<&'static str>> {
    // None: the endpoint's own method.
    prop_oneof![6 => Just(None), 1 => prop::sample::select(vec!["PUT", "DELETE", "PATCH"]).prop_map(Some)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_random_input_below_500_and_refuses_in_json() -> anyhow::Result<()> {
    let stack = Stack::start("e2e_api_fuzz", false, Duration::from_secs(60)).await?;
    let bases = [
        stack.order.url.clone(),
        stack.payment.url.clone(),
        stack.inventory.url.clone(),
    ];
    let mut runner = runner(300);
    let handle = tokio::runtime::Handle::current();
    let client = client();
    let urls = bases.clone();
    // Strategies are built on the blocking thread: they are not Send.
    let outcome = tokio::task::spawn_blocking(move || {
        let input = (0..ENDPOINTS.len(), segment(), query(), any_body(), method());
        runner.run(&input, |(endpoint, segment, query, body, wrong)| {
            let (service, own, template, takes_body) = ENDPOINTS[endpoint];
            let method = wrong.unwrap_or(own);
            let url = format!(
                "{}{}{query}",
                urls[service],
                template.replace("{}", &segment)
            );
            let sends_body = takes_body || wrong.is_some();
            let mut request = client.request(method.parse().expect("method"), &url);
            if sends_body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            let sent = if sends_body { body.len() } else { 0 };
            let Some((status, answer)) = handle.block_on(send(request, sent)) else {
                return Ok(());
            };
            prop_assert!(status < 500, "{status} for {method} {url}: {answer}");
            if status >= 400 {
                let error: Value = serde_json::from_str(&answer).map_err(|_| {
                    TestCaseError::fail(format!(
                        "{status} for {method} {url} is not JSON: {answer:?}"
                    ))
                })?;
                prop_assert!(error["error"].is_string(), "no error message: {answer}");
            }
            Ok(())
        })
    })
    .await?;
    outcome.map_err(|e| anyhow::anyhow!("{e}"))?;

    for (service, base) in [&stack.order, &stack.payment, &stack.inventory]
        .iter()
        .zip(&bases)
    {
        assert!(service.is_running(), "{} stopped", service.group);
        let ready = reqwest::get(format!("{base}/readyz")).await?;
        assert_eq!(ready.status(), 200, "{} is not ready", service.group);
    }
    stack.stop().await
}
