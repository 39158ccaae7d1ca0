//! 200 concurrent orders of mixed outcomes, every outbox publishing twice: every order
//! ends terminal and `sagactl verify` finds nothing wrong.

use std::time::Duration;

use serde_json::{Value, json};

use crate::stack::Stack;

/// Customer, SKU, and whether the customer cancels: every outcome the saga has.
pub(crate) fn order_mix(i: usize) -> (String, &'static str, bool) {
    match i % 8 {
        0..=2 => (format!("load-c-{:03}", i % 100), "load-sku-001", false),
        3 => ("c-rich".to_owned(), "sku-widget", true),
        4 => (format!("load-c-declined-{}", i % 10), "load-sku-002", false),
        5 => ("c-poor".to_owned(), "sku-gadget", false),
        6 => (format!("load-c-{:03}", i % 100), "load-sku-empty-3", false),
        _ => (format!("load-c-{:03}", i % 100), "no-such-sku", false),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_orders_with_duplicate_publishing_all_end_and_verify_clean()
-> anyhow::Result<()> {
    let stack = Stack::start("e2e_mix", true, Duration::from_secs(60)).await?;
    let client = reqwest::Client::new();

    let posts = (0..200).map(|i| {
        let client = client.clone();
        let url = format!("{}/orders", stack.order.url);
        async move {
            let (customer, sku, cancels) = order_mix(i);
            let body = json!({
                "customer_id": customer,
                "items": [{"sku": sku, "quantity": 1 + (i % 3), "unit_price_cents": 1250}],
                "currency": "EUR"
            });
            // 200 at once is beyond the service's in-flight bound: the excess is shed
            // with 503 and Retry-After, and a client comes back as told (spread out,
            // with the same key, so each order is placed once).
            let mut shed = 0;
            let response = loop {
                let response = client
                    .post(&url)
                    .header("Idempotency-Key", format!("e2e-{i}"))
                    .json(&body)
                    .send()
                    .await?;
                if response.status() != 503 || shed == 60 {
                    break response;
                }
                shed += 1;
                tokio::time::sleep(Duration::from_millis(1_000 + 37 * (i as u64 % 16))).await;
            };
            anyhow::ensure!(response.status() == 202, "order {i}: {}", response.status());
            let created: Value = response.json().await?;
            anyhow::Ok((
                created["order_id"].as_str().unwrap_or_default().to_owned(),
                cancels,
            ))
        }
    });
    let orders = futures_util::future::try_join_all(posts).await?;

    // Some customers change their minds while the saga runs.
    for (order, cancels) in &orders {
        if *cancels {
            let _ = client
                .post(format!("{}/orders/{order}/cancel", stack.order.url))
                .send()
                .await?;
        }
    }

    let ids: Vec<&str> = orders.iter().map(|(order, _)| order.as_str()).collect();
    let outcomes = stack.await_terminal(&ids, Duration::from_secs(120)).await?;
    eprintln!("e2e: 200 orders, outcomes {outcomes:?}");
    for outcome in [
        "confirmed",
        "cancelled_customer",
        "cancelled_payment_declined",
        "cancelled_out_of_stock",
    ] {
        assert!(
            outcomes.get(outcome).is_some_and(|n| *n > 0),
            "no order ended {outcome}: {outcomes:?}"
        );
    }

    let (clean, report) = tokio::task::block_in_place(|| stack.verify())?;
    eprintln!("e2e: {}", report.trim());
    assert!(clean, "sagactl verify found violations:\n{report}");
    assert!(report.contains("200 orders, 0 violations"), "{report}");
    stack.stop().await
}
