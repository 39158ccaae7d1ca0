//! `sagactl order create|show|history|cancel|ship`: a thin client of the order API.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub(crate) struct OrderArgs {
    /// Base URL of order-service.
    #[arg(
        long,
        global = true,
        env = "ORDER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    order_url: String,
    /// Print the API's JSON as it is.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: OrderCommand,
}

#[derive(Debug, Subcommand)]
enum OrderCommand {
    /// Place an order: `--item sku:quantity:unit_price_cents`, repeatable.
    Create {
        #[arg(long, default_value = "c-rich")]
        customer: String,
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// Retries with the same key get the same order.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// The order now, or `--at` an RFC 3339 moment.
    Show {
        order_id: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// The order's events, oldest first.
    History { order_id: String },
    /// Cancel as the customer.
    Cancel { order_id: String },
    /// Ship a confirmed order.
    Ship {
        order_id: String,
        #[arg(long)]
        tracking: String,
    },
}

fn parse_item(text: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = text.split(':').collect();
    let [sku, quantity, price] = parts.as_slice() else {
        anyhow::bail!("an item is sku:quantity:unit_price_cents, not {text:?}");
    };
    Ok(json!({
        "sku": sku,
        "quantity": quantity.parse::<i64>().context("quantity")?,
        "unit_price_cents": price.parse::<i64>().context("unit_price_cents")?,
    }))
}

pub(crate) async fn run(args: OrderArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = args.order_url.trim_end_matches('/');
    let (status, body) = match args.command {
        OrderCommand::Create {
            customer,
            items,
            currency,
            idempotency_key,
        } => {
            let items = items
                .iter()
                .map(|i| parse_item(i))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut request = client
                .post(format!("{base}/orders"))
                .json(&json!({"customer_id": customer, "items": items, "currency": currency}));
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            send(request).await?
        }
        OrderCommand::Show { order_id, at } => {
            let mut request = client.get(format!("{base}/orders/{order_id}"));
            if let Some(at) = at {
                request = request.query(&[("at", at)]);
            }
            send(request).await?
        }
        OrderCommand::History { order_id } => {
            send(client.get(format!("{base}/orders/{order_id}/events"))).await?
        }
        OrderCommand::Cancel { order_id } => {
            send(client.post(format!("{base}/orders/{order_id}/cancel"))).await?
        }
        OrderCommand::Ship { order_id, tracking } => {
            send(
                client
                    .post(format!("{base}/orders/{order_id}/ship"))
                    .json(&json!({"tracking_number": tracking})),
            )
            .await?
        }
    };
    if !status.is_success() {
        anyhow::bail!(
            "{status}: {}{}",
            body["error"].as_str().unwrap_or("request failed"),
            body["field"]
                .as_str()
                .map(|f| format!(" (field {f})"))
                .unwrap_or_default()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print_human(&body);
    }
    Ok(())
}

async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    let response = request
        .send()
        .await
        .context("order-service did not answer")?;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

fn print_human(body: &Value) {
    match body {
        Value::Array(events) => {
            println!("{:>3}  {:<28} {:<24} DATA", "V", "RECORDED AT", "TYPE");
            for event in events {
                println!(
                    "{:>3}  {:<28} {:<24} {}",
                    event["version"].as_i64().unwrap_or_default(),
                    event["recorded_at"].as_str().unwrap_or_default(),
                    event["type"].as_str().unwrap_or_default(),
                    event["data"]
                );
            }
        }
        Value::Object(order) => {
            for (key, value) in order {
                let shown = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                println!("{key:<16} {shown}");
            }
        }
        other => println!("{other}"),
    }
}
