//! `sagactl order create|show|history|cancel|ship`: a thin client of the order API. An
//! order is named by its order id or its saga's correlation id (`order_ref`).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::shown;

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
    #[command(flatten)]
    orders: super::order_ref::OrdersDb,
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
        /// The order id or the saga's correlation id.
        order_id: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// The order's events, oldest first.
    History {
        /// The order id or the saga's correlation id.
        order_id: String,
    },
    /// Cancel as the customer.
    Cancel {
        /// The order id or the saga's correlation id.
        order_id: String,
    },
    /// Ship a confirmed order.
    Ship {
        /// The order id or the saga's correlation id.
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
    let client = super::http_client::client()?;
    let base = args.order_url.trim_end_matches('/');
    let resolve =
        async |id: String| super::order_ref::resolve(&client, base, &args.orders, &id).await;
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
            let order_id = resolve(order_id).await?;
            let mut request = client.get(format!("{base}/orders/{order_id}"));
            if let Some(at) = at {
                request = request.query(&[("at", at)]);
            }
            send(request).await?
        }
        OrderCommand::History { order_id } => {
            let order_id = resolve(order_id).await?;
            send(client.get(format!("{base}/orders/{order_id}/events"))).await?
        }
        OrderCommand::Cancel { order_id } => {
            let order_id = resolve(order_id).await?;
            send(client.post(format!("{base}/orders/{order_id}/cancel"))).await?
        }
        OrderCommand::Ship { order_id, tracking } => {
            let order_id = resolve(order_id).await?;
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
    print!("{}", human(body));
}

fn human(body: &Value) -> String {
    let mut out = String::new();
    let mut println = |line: String| {
        out.push_str(&line);
        out.push('\n');
    };
    match body {
        Value::Array(events) => {
            println(format!(
                "{:>3}  {:<28} {:<24} DATA",
                "V", "RECORDED AT", "TYPE"
            ));
            for event in events {
                println(format!(
                    "{:>3}  {:<28} {:<24} {}",
                    event["version"].as_i64().unwrap_or_default(),
                    event["recorded_at"].as_str().unwrap_or_default(),
                    event["type"].as_str().unwrap_or_default(),
                    event["data"]
                ));
            }
        }
        Value::Object(order) => {
            // The order id first: people copy the first id they see. The correlation
            // id (the saga's id) next; sagactl takes either wherever it names an order.
            let first = ["order_id", "correlation_id"];
            let rest = order.keys().filter(|k| !first.contains(&k.as_str()));
            for key in first.iter().copied().chain(rest.map(String::as_str)) {
                let Some(value) = order.get(key) else {
                    continue;
                };
                let shown = match value {
                    Value::String(s) => shown::line(s),
                    other => shown::line(&other.to_string()),
                };
                println(format!("{key:<16} {shown}"));
            }
        }
        other => println(format!("{other}")),
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_created_order_shows_its_order_id_first_and_both_ids_labelled() {
        let shown = super::human(&json!({
            "order_id": "0199-order",
            "correlation_id": "0199-correlation",
            "status": "pending",
        }));
        let lines: Vec<&str> = shown.lines().collect();
        assert!(
            lines[0].starts_with("order_id") && lines[0].contains("0199-order"),
            "{shown}"
        );
        assert!(
            lines[1].starts_with("correlation_id") && lines[1].contains("0199-correlation"),
            "{shown}"
        );
    }
}
