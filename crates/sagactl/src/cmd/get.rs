//! `sagactl get SERVICE PATH [--field F] [--until VALUE]`: one JSON resource of a
//! service's API, or one field of it, optionally waited for. The scenario scripts read
//! the stack with it, so the host needs neither curl nor a JSON tool, and the same
//! script drives the native stack or, from a container, the compose one.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde_json::Value;

use service_kit::config::parse_duration;

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// Whose API to ask.
    service: Service,
    /// The resource's path, e.g. `/orders/<id>` or `/accounts/c-rich`.
    path: String,
    /// Print only this field, dotted (`compensation.payment`, `items.0.sku`); a string
    /// is printed bare, anything else as JSON.
    #[arg(long)]
    field: Option<String>,
    /// Poll until the field equals this value; fail after `--timeout`.
    #[arg(long, requires = "field")]
    until: Option<String>,
    /// How long `--until` waits (seconds).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    urls: ServiceUrls,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Service {
    Order,
    Payment,
    Inventory,
    Jaeger,
}

/// Where each service answers: the published ports by default, the compose network's
/// names inside a container.
#[derive(Debug, Args)]
struct ServiceUrls {
    #[arg(long, env = "ORDER_URL", default_value = "http://127.0.0.1:8080")]
    order_url: String,
    #[arg(long, env = "PAYMENT_URL", default_value = "http://127.0.0.1:8081")]
    payment_url: String,
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:8082")]
    inventory_url: String,
    #[arg(long, env = "JAEGER_URL", default_value = "http://127.0.0.1:16686")]
    jaeger_url: String,
}

impl ServiceUrls {
    fn base(&self, service: Service) -> &str {
        let url = match service {
            Service::Order => &self.order_url,
            Service::Payment => &self.payment_url,
            Service::Inventory => &self.inventory_url,
            Service::Jaeger => &self.jaeger_url,
        };
        url.trim_end_matches('/')
    }
}

const POLL_EVERY: Duration = Duration::from_millis(300);

pub(crate) async fn run(args: GetArgs) -> anyhow::Result<()> {
    let url = format!(
        "{}/{}",
        args.urls.base(args.service),
        args.path.trim_start_matches('/')
    );
    let client = super::http_client::builder()?
        .timeout(Duration::from_secs(10))
        .build()?;
    let Some(expected) = &args.until else {
        let body = fetch(&client, &url).await?;
        println!("{}", shown(&body, args.field.as_deref())?);
        return Ok(());
    };
    let field = args.field.as_deref().unwrap_or_default();
    let deadline = Instant::now() + args.timeout;
    loop {
        // Until the deadline, a failed request (the order not created yet, a service
        // restarting) is one more reason to wait.
        let last = match fetch(&client, &url).await {
            Ok(body) => match shown(&body, Some(field)) {
                Ok(value) if value == *expected => {
                    println!("{value}");
                    return Ok(());
                }
                Ok(value) => format!("is {value:?}"),
                Err(err) => format!("{err:#}"),
            },
            Err(err) => format!("{err:#}"),
        };
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{field} of {url} {last}, expected {expected:?} within {:?}",
                args.timeout
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}: no answer"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!(
            "GET {url}: {status}: {}",
            body["error"].as_str().unwrap_or("request failed")
        );
    }
    Ok(body)
}

/// The body, or one dotted field of it, as text.
fn shown(body: &Value, field: Option<&str>) -> anyhow::Result<String> {
    let mut value = body;
    for segment in field.into_iter().flat_map(|f| f.split('.')) {
        value = match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .with_context(|| format!("no field {segment:?} in {value}"))?;
    }
    Ok(match value {
        Value::String(text) => text.clone(),
        other if field.is_some() => other.to_string(),
        other => serde_json::to_string_pretty(other)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dotted_field_reaches_into_objects_and_arrays() {
        let body = json!({"compensation": {"payment": "refunded"}, "items": [{"sku": "sku-widget", "quantity": 2}]});
        assert_eq!(
            shown(&body, Some("compensation.payment")).unwrap(),
            "refunded"
        );
        assert_eq!(shown(&body, Some("items.0.sku")).unwrap(), "sku-widget");
        assert_eq!(shown(&body, Some("items.0.quantity")).unwrap(), "2");
    }

    #[test]
    fn null_prints_as_null_and_a_missing_field_is_an_error() {
        let body = json!({"cancel_reason": null});
        assert_eq!(shown(&body, Some("cancel_reason")).unwrap(), "null");
        assert!(shown(&body, Some("status")).is_err());
        assert!(shown(&body, Some("cancel_reason.x")).is_err());
    }
}
