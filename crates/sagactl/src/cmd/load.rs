//! `sagactl load`: drives the running stack with orders at a steady rate, over the load
//! customers and SKUs of DESIGN.md §4, and reports completed sagas per second and the
//! end-to-end latency (POST to the order's terminal event on `order-events`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use messaging::KafkaConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// Orders per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// How long to send, in seconds (or use --count).
    #[arg(long, conflicts_with = "count")]
    duration: Option<f64>,
    /// How many orders to send.
    #[arg(long)]
    count: Option<usize>,
    /// The mix of outcomes, as weights: happy, declined, out of stock, customer cancel.
    #[arg(long, default_value = "happy=70,declined=10,out_of_stock=10,cancel=10")]
    mix: String,
    /// How long to wait for the last sagas to finish after the last order was sent.
    #[arg(long, default_value_t = 120.0)]
    drain: f64,
    /// Most orders in flight on the HTTP side at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    #[arg(long, env = "ORDER_URL", default_value = "http://127.0.0.1:8080")]
    order_url: String,
    /// End with one JSON line instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Happy,
    Declined,
    OutOfStock,
    Cancel,
}

fn parse_mix(text: &str) -> anyhow::Result<Vec<(Kind, u32)>> {
    let mut mix = Vec::new();
    for part in text.split(',') {
        let (name, weight) = part.split_once('=').context("the mix is name=weight,...")?;
        let kind = match name.trim() {
            "happy" => Kind::Happy,
            "declined" => Kind::Declined,
            "out_of_stock" => Kind::OutOfStock,
            "cancel" => Kind::Cancel,
            other => {
                anyhow::bail!("unknown outcome {other:?} (happy, declined, out_of_stock, cancel)")
            }
        };
        mix.push((kind, weight.trim().parse()?));
    }
    anyhow::ensure!(
        mix.iter().map(|(_, w)| w).sum::<u32>() > 0,
        "the mix has no weight"
    );
    Ok(mix)
}

/// The n-th order of the mix, spread evenly (a deterministic weighted round robin).
fn kind_of(mix: &[(Kind, u32)], n: usize) -> Kind {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut slot = (n as u32 * 7919) % total;
    for (kind, weight) in mix {
        if slot < *weight {
            return *kind;
        }
        slot -= weight;
    }
    mix[0].0
}

fn body(kind: Kind, n: usize) -> serde_json::Value {
    let (customer, sku) = match kind {
        Kind::Happy | Kind::Cancel => (
            format!("load-c-{:03}", n % 100),
            format!("load-sku-{:03}", (n / 100) % 100),
        ),
        Kind::Declined => (
            format!("load-c-declined-{}", n % 10),
            format!("load-sku-{:03}", n % 100),
        ),
        Kind::OutOfStock => (
            format!("load-c-{:03}", n % 100),
            format!("load-sku-empty-{}", n % 10),
        ),
    };
    json!({"customer_id": customer, "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"})
}

#[derive(Default)]
struct Tally {
    /// Order id → (kind, when its POST started).
    sent: HashMap<String, (Kind, Instant)>,
    /// Terminal events seen before their POST answered.
    early: HashMap<String, Vec<(Instant, String)>>,
    latencies: Vec<(Kind, Duration, String)>,
    failed_posts: usize,
    first_post: Option<Instant>,
    last_terminal: Option<Instant>,
}

/// Whether `outcome` ends a saga of `kind`: an order its customer cancels may be
/// confirmed first, and ends only with its cancellation.
fn ends(kind: Kind, outcome: &str) -> bool {
    kind != Kind::Cancel || outcome.starts_with("cancelled")
}

impl Tally {
    fn finish(&mut self, order: &str, at: Instant, outcome: String) {
        match self.sent.get(order) {
            Some((kind, started)) if ends(*kind, &outcome) => {
                let (kind, started) = (*kind, *started);
                self.sent.remove(order);
                self.latencies.push((kind, at - started, outcome));
                self.last_terminal = Some(at);
            }
            Some(_) => {}
            None => self
                .early
                .entry(order.to_owned())
                .or_default()
                .push((at, outcome)),
        }
    }

    /// The order's POST answered: record it, or finish it if its end came first.
    fn sent(&mut self, order: String, kind: Kind, started: Instant) {
        let early = self.early.remove(&order).unwrap_or_default();
        match early.into_iter().find(|(_, outcome)| ends(kind, outcome)) {
            Some((at, outcome)) => {
                self.latencies.push((kind, at - started, outcome));
                self.last_terminal = Some(at);
            }
            None => {
                self.sent.insert(order, (kind, started));
            }
        }
    }
}

pub(crate) async fn run(kafka: &KafkaConfig, args: LoadArgs) -> anyhow::Result<()> {
    let mix = parse_mix(&args.mix)?;
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let count = match (args.count, args.duration) {
        (Some(count), _) => count,
        (None, Some(duration)) => (duration * args.rate).round() as usize,
        (None, None) => (30.0 * args.rate).round() as usize,
    };
    let tally = Arc::new(Mutex::new(Tally::default()));

    // Terminal events, observed on order-events from now on. Partitions are assigned,
    // not subscribed: a group with nothing committed would restart at "latest" after a
    // broker restart and miss what was produced meanwhile (scripts/chaos restarts it).
    let consumer: StreamConsumer = kafka
        .consumer(&format!("sagactl-load-{}", Uuid::now_v7().simple()))
        .create()?;
    let topic = kafka.topic(contracts::topics::ORDER_EVENTS);
    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        // The watermark of this moment, before the first POST: nothing is missed.
        let (_, high) =
            consumer.fetch_watermarks(&topic, partition.id(), Duration::from_secs(10))?;
        assignment.add_partition_offset(&topic, partition.id(), rdkafka::Offset::Offset(high))?;
    }
    anyhow::ensure!(assignment.count() > 0, "topic {topic} has no partitions");
    consumer.assign(&assignment)?;
    let watcher = {
        let tally = Arc::clone(&tally);
        tokio::spawn(async move {
            loop {
                let Ok(message) = consumer.recv().await else {
                    continue;
                };
                let outcome = match message
                    .headers()
                    .and_then(|h| messaging::headers::last_value(h, "ce_type"))
                {
                    Some(b"order.confirmed.v1") => "confirmed".to_owned(),
                    Some(b"order.cancelled.v1") => {
                        let body: serde_json::Value =
                            serde_json::from_slice(message.payload().unwrap_or_default())
                                .unwrap_or_default();
                        format!("cancelled_{}", body["reason"].as_str().unwrap_or("?"))
                    }
                    _ => continue,
                };
                let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
                tally
                    .lock()
                    .expect("tally")
                    .finish(&key, Instant::now(), outcome);
            }
        })
    };

    let progress = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(count as u64)
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} sagas done ({per_sec}) {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let base = args.order_url.trim_end_matches('/').to_owned();
    let mut senders = Vec::with_capacity(count);
    for n in 0..count {
        ticker.tick().await;
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let (http, shared, base) = (http.clone(), Arc::clone(&tally), base.clone());
        let kind = kind_of(&mix, n);
        senders.push(tokio::spawn(async move {
            let tally = shared;
            let _permit = permit;
            let key = format!("load-{}", Uuid::now_v7().simple());
            let started = Instant::now();
            tally
                .lock()
                .expect("tally")
                .first_post
                .get_or_insert(started);
            let mut created = None;
            for attempt in 0..5 {
                let response = http
                    .post(format!("{base}/orders"))
                    .header("Idempotency-Key", &key)
                    .json(&body(kind, n))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 202 => {
                        created = r.json::<serde_json::Value>().await.ok();
                        break;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(100 << attempt)).await,
                }
            }
            let Some(order) = created.and_then(|c| c["order_id"].as_str().map(str::to_owned))
            else {
                tally.lock().expect("tally").failed_posts += 1;
                return;
            };
            tally
                .lock()
                .expect("tally")
                .sent(order.clone(), kind, started);
            if kind == Kind::Cancel {
                let _ = http
                    .post(format!("{base}/orders/{order}/cancel"))
                    .send()
                    .await;
            }
        }));
        progress.set_position(tally.lock().expect("tally").latencies.len() as u64);
    }
    for sender in senders {
        let _ = sender.await;
    }
    let drained = Instant::now();
    loop {
        let (done, open) = {
            let tally = tally.lock().expect("tally");
            (tally.latencies.len(), tally.sent.len())
        };
        progress.set_position(done as u64);
        if open == 0 || drained.elapsed() > Duration::from_secs_f64(args.drain) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress.finish_and_clear();
    watcher.abort();
    report(&tally.lock().expect("tally"), count, args.json)
}

fn report(tally: &Tally, sent: usize, as_json: bool) -> anyhow::Result<()> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for (_, latency, outcome) in &tally.latencies {
        histogram.record((latency.as_micros() as u64).max(1))?;
        *outcomes.entry(outcome.clone()).or_default() += 1;
    }
    let completed = tally.latencies.len();
    let span = match (tally.first_post, tally.last_terminal) {
        (Some(first), Some(last)) if last > first => (last - first).as_secs_f64(),
        _ => 0.0,
    };
    let per_s = if span > 0.0 {
        completed as f64 / span
    } else {
        0.0
    };
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    if as_json {
        println!(
            "{}",
            json!({
                "completed": completed,
                "sagas_per_s": (per_s * 10.0).round() / 10.0,
                "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99),
                "max_ms": histogram.max() as f64 / 1000.0,
                "outcomes": outcomes,
                "sent": sent, "unfinished": tally.sent.len(), "failed_posts": tally.failed_posts,
            })
        );
    } else {
        println!(
            "sent {sent}, completed {completed}, unfinished {}, failed POSTs {}",
            tally.sent.len(),
            tally.failed_posts
        );
        println!("throughput: {per_s:.1} sagas/s");
        println!(
            "latency (POST to terminal event): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(0.50),
            ms(0.95),
            ms(0.99),
            histogram.max() as f64 / 1000.0
        );
        for (outcome, n) in &outcomes {
            println!("  {outcome:<28} {n}");
        }
    }
    anyhow::ensure!(
        tally.sent.is_empty() && tally.failed_posts == 0,
        "not every saga finished"
    );
    Ok(())
}
