//! `sagactl load --peer URL`: the same load against a peer engine of `bench/peers/`. A
//! peer answers only once the saga's outcome is durable, so its answer is the saga's end
//! (the contract is in `bench/peers/README.md`).

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::mix::{Kind, body};

/// Runs the n-th saga of the load on the peer at `base`: its order id and outcome
/// (`confirmed`, `cancelled_<reason>`), or `None` if the peer never answered.
pub(super) async fn saga(
    http: &reqwest::Client,
    base: &str,
    kind: Kind,
    n: usize,
) -> Option<(String, String)> {
    let order = Uuid::now_v7().to_string();
    let placed = call(
        http,
        &format!("{base}/order/{order}/place"),
        Some(body(kind, n)),
    )
    .await?;
    let outcome = if kind == Kind::Cancel && placed == "confirmed" {
        call(http, &format!("{base}/order/{order}/cancel"), None).await?
    } else {
        placed
    };
    Some((order, outcome))
}

/// One request, repeated on failure: a repeat names the same order, which the peer
/// answers without running it twice.
async fn call(http: &reqwest::Client, url: &str, body: Option<Value>) -> Option<String> {
    for attempt in 0..5 {
        let mut request = http.post(url);
        if let Some(body) = &body {
            request = request.json(body);
        }
        if let Ok(response) = request.send().await
            && response.status().is_success()
            && let Ok(answer) = response.json::<Value>().await
        {
            return outcome(&answer);
        }
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
    None
}

/// The outcome named as the load names ours: `confirmed` or `cancelled_<reason>`.
fn outcome(answer: &Value) -> Option<String> {
    match answer["status"].as_str()? {
        "confirmed" => Some("confirmed".to_owned()),
        "cancelled" => Some(format!(
            "cancelled_{}",
            answer["reason"].as_str().unwrap_or("?")
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_peers_answer_is_named_as_our_terminal_events_are() {
        use super::outcome;
        assert_eq!(
            outcome(&json!({"status": "confirmed", "reason": null})).as_deref(),
            Some("confirmed")
        );
        assert_eq!(
            outcome(&json!({"status": "cancelled", "reason": "out_of_stock"})).as_deref(),
            Some("cancelled_out_of_stock")
        );
        assert_eq!(outcome(&json!({"status": "pending"})), None);
    }
}
