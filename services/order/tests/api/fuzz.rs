//! Property-based fuzzing of the order API: random JSON, wrong types, huge numbers,
//! unicode and oversized bodies never crash the service or leak a 5xx; every refusal is
//! a 4xx with a JSON error.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use test_support::TestDatabase;
use test_support::fuzz::{any_json, around_limit, client, runner, send, urlencode};

use crate::support::{settings, start, valid_order};

/// A valid order with one field replaced by anything.
fn mutated_order() -> impl Strategy<Value = Value> {
    let fields = prop_oneof![
        Just(vec!["customer_id"]),
        Just(vec!["items"]),
        Just(vec!["currency"]),
        Just(vec!["items", "0", "sku"]),
        Just(vec!["items", "0", "quantity"]),
        Just(vec!["items", "0", "unit_price_cents"]),
        Just(vec!["extra"]),
    ];
    (fields, any_json()).prop_map(|(path, value)| {
        let mut order = valid_order();
        let mut target = &mut order;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                match key.parse::<usize>() {
                    Ok(index) => target[index] = value.clone(),
                    Err(_) => target[*key] = value.clone(),
                }
            } else {
                target = match key.parse::<usize>() {
                    Ok(index) => &mut target[index],
                    Err(_) => &mut target[*key],
                };
            }
        }
        order
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_never_crash_the_api_and_every_refusal_is_a_json_4xx() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_fuzz").await?;
    let app = start(&database, settings(Duration::from_secs(60))).await?;
    let base = app.base.clone();
    let handle = tokio::runtime::Handle::current();

    let mut runner = runner(300);
    let client = client();
    // Strategies are built on the blocking thread: they are not Send.
    let outcome = tokio::task::spawn_blocking(move || {
        let bodies = prop_oneof![
            3 => mutated_order().prop_map(|v| v.to_string().into_bytes()),
            1 => any_json().prop_map(|v| v.to_string().into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..512),
            1 => around_limit("customer_id"),
        ];
        let paths = prop_oneof![
            Just("/orders".to_owned()),
            Just("/orders/00000000-0000-0000-0000-000000000000/ship".to_owned()),
            Just("/orders/not-an-id/cancel".to_owned()),
            // Dot segments: the client normalises them away, onto routes with other methods.
            Just("/orders/%2E/ship".to_owned()),
            Just("/orders/%2e%2E/cancel".to_owned()),
            ".{0,20}".prop_map(|s| format!("/orders/{}/ship", urlencode(&s))),
        ];
        runner.run(&(paths, bodies), |(path, body)| {
            let request = client
                .post(format!("{base}{path}"))
                .header("content-type", "application/json")
                .body(body.clone());
            let Some((status, answer)) = handle.block_on(send(request, body.len())) else {
                return Ok(());
            };
            prop_assert!(
                status < 500,
                "{status} for {path} with {} bytes: {answer}",
                body.len()
            );
            if status >= 400 {
                let error: Value = serde_json::from_str(&answer)
                    .map_err(|_| TestCaseError::fail(format!("not JSON: {answer}")))?;
                prop_assert!(error["error"].is_string(), "no error message: {answer}");
            }
            Ok(())
        })
    })
    .await?;
    outcome.map_err(|e| anyhow::anyhow!("{e}"))?;

    // Still serving, and still correct, after all that.
    let (status, created) = app.post("/orders", &json!(valid_order())).await?;
    assert_eq!(status, 202, "{created}");
    app.stop().await?;
    database.drop_database().await
}
