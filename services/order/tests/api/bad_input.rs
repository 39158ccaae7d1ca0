//! Every bad input answers 4xx with `{"error", "field"}`.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::TestDatabase;

use crate::support::{TestApp, settings, start, valid_order};

fn with(mut order: Value, path: &[&str], value: Value) -> Value {
    let mut target = &mut order;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            if value.is_null() {
                target.as_object_mut().unwrap().remove(*key);
            } else {
                target[*key] = value.clone();
            }
            break;
        }
        target = match key.parse::<usize>() {
            Ok(index) => &mut target[index],
            Err(_) => &mut target[*key],
        };
    }
    order
}

async fn expect(
    app: &TestApp,
    body: Value,
    status: u16,
    field: Option<&str>,
) -> anyhow::Result<()> {
    let (got, answer) = app.post("/orders", &body).await?;
    assert_eq!(got, status, "{body} answered {answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| !e.is_empty()),
        "no error message: {answer}"
    );
    assert_eq!(answer["field"].as_str(), field, "{body} answered {answer}");
    Ok(())
}

#[tokio::test]
async fn every_bad_order_answers_a_4xx_naming_the_field() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_bad").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let line = |q: Value, p: Value| json!([{"sku": "a", "quantity": q, "unit_price_cents": p}]);

    expect(
        &app,
        with(valid_order(), &["customer_id"], Value::Null),
        422,
        Some("customer_id"),
    )
    .await?;
    // A NUL could not even be stored (jsonb refuses it): refused, not a 503.
    expect(
        &app,
        with(valid_order(), &["customer_id"], json!("c\u{0}rich")),
        422,
        Some("customer_id"),
    )
    .await?;
    expect(
        &app,
        with(
            valid_order(),
            &["items"],
            json!([{"sku": "a\nb", "quantity": 1, "unit_price_cents": 1}]),
        ),
        422,
        Some("items[0].sku"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["surprise"], json!(1)),
        422,
        Some("surprise"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["items"], json!([])),
        422,
        Some("items"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["items"], line(json!(0), json!(1))),
        422,
        Some("items[0].quantity"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["items"], line(json!(10_001), json!(1))),
        422,
        Some("items[0].quantity"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["items"], line(json!(1), json!(0))),
        422,
        Some("items[0].unit_price_cents"),
    )
    .await?;
    expect(
        &app,
        with(
            valid_order(),
            &["items"],
            line(json!(1), json!(1_000_000_001)),
        ),
        422,
        Some("items[0].unit_price_cents"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["items"], line(json!("two"), json!(1))),
        422,
        Some("items[0].quantity"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["items"], line(json!(1e30), json!(1))),
        422,
        Some("items[0].quantity"),
    )
    .await?;
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"sku": format!("s{i}"), "quantity": 1, "unit_price_cents": 1}))
        .collect();
    expect(
        &app,
        with(valid_order(), &["items"], Value::Array(many)),
        422,
        Some("items"),
    )
    .await?;
    let twice = json!([{"sku": "a", "quantity": 1, "unit_price_cents": 1}, {"sku": "a", "quantity": 2, "unit_price_cents": 1}]);
    expect(
        &app,
        with(valid_order(), &["items"], twice),
        422,
        Some("items[1].sku"),
    )
    .await?;
    expect(
        &app,
        with(valid_order(), &["currency"], json!("USD")),
        422,
        Some("currency"),
    )
    .await?;
    let unknown_line_field =
        json!([{"sku": "a", "quantity": 1, "unit_price_cents": 1, "color": "red"}]);
    expect(
        &app,
        with(valid_order(), &["items"], unknown_line_field),
        422,
        Some("items[0].color"),
    )
    .await?;

    let (status, answer) = app
        .post_raw(
            "/orders",
            b"{\"customer_id\": ".to_vec(),
            "application/json",
            None,
        )
        .await?;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = app
        .post_raw("/orders", b"customer_id=c".to_vec(), "text/plain", None)
        .await?;
    assert_eq!(status, 415, "{answer}");
    let huge = format!("{{\"customer_id\": \"{}\"}}", "x".repeat(70 * 1024));
    let (status, answer) = app
        .post_raw("/orders", huge.into_bytes(), "application/json", None)
        .await?;
    assert_eq!(status, 413, "{answer}");
    assert!(answer["error"].is_string());

    let (status, answer) = app.get("/orders/not-a-uuid").await?;
    assert_eq!((status, answer["field"].as_str()), (400, Some("order_id")));
    let (status, _) = app
        .get(&format!("/orders/{}", uuid::Uuid::now_v7()))
        .await?;
    assert_eq!(status, 404);
    let order = app.create_order().await?;
    let (status, answer) = app.get(&format!("/orders/{order}?at=yesterday")).await?;
    assert_eq!((status, answer["field"].as_str()), (400, Some("at")));
    let (status, answer) = app
        .post(&format!("/orders/{order}/ship"), &json!({"tracking": "x"}))
        .await?;
    assert_eq!((status, answer["field"].as_str()), (422, Some("tracking")));
    let (status, _) = app
        .post(
            &format!("/orders/{order}/ship"),
            &json!({"tracking_number": "T-1"}),
        )
        .await?;
    assert_eq!(status, 409, "a pending order cannot ship");
    let (status, _) = app
        .post(&format!("/orders/{order}/cancel"), &json!({}))
        .await?;
    assert_eq!(status, 200);
    let (status, answer) = app
        .post(&format!("/orders/{order}/cancel"), &json!({}))
        .await?;
    assert_eq!(status, 409, "{answer}");
    let (status, _) = app
        .post(
            &format!("/orders/{order}/ship"),
            &json!({"tracking_number": "T-1"}),
        )
        .await?;
    assert_eq!(status, 409, "a cancelled order cannot ship");
    let (status, _) = app
        .post(
            &format!("/orders/{}/cancel", uuid::Uuid::now_v7()),
            &json!({}),
        )
        .await?;
    assert_eq!(status, 404);

    app.stop().await?;
    database.drop_database().await
}

#[tokio::test]
async fn an_idempotency_key_gives_the_same_order_for_the_same_body_and_refuses_another()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_idem").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let body = valid_order().to_string().into_bytes();
    let key = test_support::unique_name("key");
    let (first, a) = app
        .post_raw("/orders", body.clone(), "application/json", Some(&key))
        .await?;
    let (second, b) = app
        .post_raw("/orders", body, "application/json", Some(&key))
        .await?;
    assert_eq!((first, second), (202, 202));
    assert_eq!(
        a["order_id"], b["order_id"],
        "the same key and body give the same order"
    );
    assert_eq!(a["correlation_id"], b["correlation_id"]);
    let other = with(valid_order(), &["customer_id"], json!("c-poor"))
        .to_string()
        .into_bytes();
    let (status, answer) = app
        .post_raw("/orders", other, "application/json", Some(&key))
        .await?;
    assert_eq!(
        (status, answer["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM order_view")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(orders, 1);
    app.stop().await?;
    database.drop_database().await
}

#[tokio::test]
async fn the_openapi_document_is_served_and_lists_every_route() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_openapi").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let (status, doc) = app.get("/openapi.json").await?;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/orders", "post"),
        ("/orders/{id}", "get"),
        ("/orders/{id}/events", "get"),
        ("/orders/{id}/cancel", "post"),
        ("/orders/{id}/ship", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    // Every documented path answers something other than 404-for-no-route.
    let order = app.create_order().await?;
    for path in ["/orders/{id}", "/orders/{id}/events"] {
        let (status, _) = app.get(&path.replace("{id}", &order)).await?;
        assert_eq!(status, 200, "{path}");
    }
    app.stop().await?;
    database.drop_database().await
}
