//! Auth on, over HTTPS (docs/security.md): tokens of the test keys in
//! `crates/service-kit/testdata`, a server certificate of its test CA.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use service_kit::auth::{Minter, Role};

use crate::support::{TestApp, settings, start_with};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../crates/service-kit/testdata/{name}"))
}

struct Caller {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Caller {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the service answers");
        let (status, headers) = (response.status(), response.headers().clone());
        (
            status,
            response.json().await.unwrap_or(Value::Null),
            headers,
        )
    }

    async fn post(&self, path: &str, body: Value, key: &str) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .header("idempotency-key", key);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the service answers");
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

fn order_for(customer: &str) -> Value {
    json!({"customer_id": customer, "items": [{"sku": "sku-widget", "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"})
}

#[tokio::test]
async fn customers_act_for_themselves_alone_over_https_and_operators_ship() -> anyhow::Result<()> {
    let database = test_support::TestDatabase::create("order-auth").await?;
    let app: TestApp = start_with(&database, settings(Duration::from_secs(60)), |config| {
        config.auth_public_key_files = vec![testdata("a.pub")];
        config.http_tls_cert_file = Some(testdata("server.pem"));
        config.http_tls_key_file = Some(testdata("server.key"));
    })
    .await?;
    assert!(app.base.starts_with("https://"), "{}", app.base);
    let ca = reqwest::Certificate::from_pem(&std::fs::read(testdata("ca.pem"))?)?;
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()?;
    let minter = Minter::from_pem_file(&testdata("a.key"), "saga")?;
    let hour = Duration::from_secs(3600);
    let as_ = |token: Option<String>| Caller {
        http: http.clone(),
        base: app.base.clone(),
        token,
    };
    let nobody = as_(None);
    let alice = as_(Some(minter.mint(Role::Customer, "c-rich", hour)));
    let bob = as_(Some(minter.mint(Role::Customer, "c-poor", hour)));
    let operator = as_(Some(minter.mint(Role::Operator, "ops", hour)));
    let forged = as_(Some(
        Minter::from_pem_file(&testdata("b.key"), "saga")?.mint(Role::Operator, "ops", hour),
    ));

    // Plain HTTP on the HTTPS port gets no answer.
    let plain = reqwest::get(app.base.replace("https://", "http://") + "/healthz").await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP was served"
    );
    // Probes stay open; everything else needs a valid token.
    let (status, ..) = nobody.send(reqwest::Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    for caller in [&nobody, &forged] {
        let (status, body, headers) = caller
            .send(reqwest::Method::GET, "/openapi.json", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body["error"].is_string(), "a JSON error: {body}");
        assert!(headers.contains_key("www-authenticate"));
    }

    // A customer orders for itself only.
    let (status, body) = alice.post("/orders", order_for("c-poor"), "k-1").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = alice.post("/orders", order_for("c-rich"), "k-1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let order = body["order_id"].as_str().expect("an id").to_owned();

    // The same key from another customer is that customer's own: no replay of alice's.
    let (status, body) = bob.post("/orders", order_for("c-poor"), "k-1").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_ne!(
        body["order_id"].as_str(),
        Some(order.as_str()),
        "bob replayed alice's order"
    );

    // Reads and cancels: the owner and operators only.
    for path in [
        format!("/orders/{order}"),
        format!("/orders/{order}/events"),
        format!("/orders/{order}?at=2100-01-01T00:00:00Z"),
    ] {
        assert_eq!(
            bob.send(reqwest::Method::GET, &path, None).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            alice.send(reqwest::Method::GET, &path, None).await.0,
            StatusCode::OK,
            "{path}"
        );
        assert_eq!(
            operator.send(reqwest::Method::GET, &path, None).await.0,
            StatusCode::OK,
            "{path}"
        );
    }
    let cancel = format!("/orders/{order}/cancel");
    assert_eq!(
        bob.send(reqwest::Method::POST, &cancel, None).await.0,
        StatusCode::FORBIDDEN
    );
    // An order nobody placed is 404 for a customer, from the check itself.
    let unknown = format!("/orders/{}/cancel", uuid::Uuid::now_v7());
    assert_eq!(
        bob.send(reqwest::Method::POST, &unknown, None).await.0,
        StatusCode::NOT_FOUND
    );
    let ship = format!("/orders/{order}/ship");
    let tracking = Some(json!({"tracking_number": "T-1"}));
    assert_eq!(
        alice
            .send(reqwest::Method::POST, &ship, tracking.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // The operator may: the order is not confirmed (no saga runs here), so 409, not 403.
    assert_eq!(
        operator
            .send(reqwest::Method::POST, &ship, tracking)
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, body, _) = alice.send(reqwest::Method::POST, &cancel, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await
}
