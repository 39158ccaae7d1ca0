//! `sagactl load`: drives the running stack with orders at a steady rate, over the load
//! customers and SKUs of DESIGN.md §4, and reports completed sagas per second and the
//! end-to-end latency (POST to the order's terminal event on `order-events`). With
//! `--peer URL` it drives a peer engine of `bench/peers/` with the same load instead.

mod mix;
mod peer;
mod tally;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use messaging::KafkaConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use tokio::task::JoinHandle;
use uuid::Uuid;

use mix::{Kind, body, kind_of, parse_mix};
use tally::Tally;

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
    /// Most orders in flight on the HTTP side at once (at least 1).
    #[arg(long, default_value_t = 256,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    concurrency: usize,
    /// The order service, or several instances of it separated by commas: orders go to
    /// them in turn, and a request one of them cannot take (down, or shedding) is sent
    /// to the next, as behind a load balancer.
    #[arg(
        long,
        env = "ORDER_URL",
        default_value = "http://127.0.0.1:8080",
        value_delimiter = ','
    )]
    order_url: Vec<String>,
    /// Drive the peer engine serving this URL (bench/peers/README.md) instead of our
    /// stack: a saga ends with the peer's answer, and Kafka is not read.
    #[arg(long)]
    peer: Option<String>,
    /// End with one JSON line instead of the table.
    #[arg(long)]
    json: bool,
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
    let watcher = match args.peer {
        None => Some(watch_terminal_events(kafka, Arc::clone(&tally))?),
        Some(_) => None,
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
    // A peer holds the request until the saga's end, which queues at saturation.
    let timeout = Duration::from_secs(if args.peer.is_some() { 120 } else { 10 });
    let http = super::http_client::builder()?.timeout(timeout).build()?;
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let peer = args.peer.map(|url| url.trim_end_matches('/').to_owned());
    let bases: Arc<[String]> = args
        .order_url
        .iter()
        .map(|url| url.trim_end_matches('/').to_owned())
        .collect();
    let mut senders = Vec::with_capacity(count);
    for n in 0..count {
        ticker.tick().await;
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let (http, shared, kind) = (http.clone(), Arc::clone(&tally), kind_of(&mix, n));
        let (peer, bases) = (peer.clone(), Arc::clone(&bases));
        senders.push(tokio::spawn(async move {
            let (_permit, tally) = (permit, shared);
            let started = Instant::now();
            tally.lock().expect("tally").started(started);
            match peer {
                Some(peer) => match peer::saga(&http, &peer, kind, n).await {
                    Some((order, outcome)) => {
                        let mut tally = tally.lock().expect("tally");
                        tally.sent(order.clone(), kind, started);
                        tally.finish(&order, Instant::now(), outcome);
                    }
                    None => tally.lock().expect("tally").failed_post(),
                },
                None => match place(&http, &bases, kind, n).await {
                    Some(order) => tally.lock().expect("tally").sent(order, kind, started),
                    None => tally.lock().expect("tally").failed_post(),
                },
            }
        }));
        progress.set_position(tally.lock().expect("tally").progress().0 as u64);
    }
    for sender in senders {
        let _ = sender.await;
    }
    let drained = Instant::now();
    loop {
        let (done, open) = tally.lock().expect("tally").progress();
        progress.set_position(done as u64);
        if open == 0 || drained.elapsed() > Duration::from_secs_f64(args.drain) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress.finish_and_clear();
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    tally.lock().expect("tally").report(count, args.json)
}

/// How long the load keeps retrying a request the service sheds (503) or cannot take
/// (a connection refused or cut), as a well-behaved client does.
const PATIENCE: Duration = Duration::from_secs(60);

/// Places the n-th order of the load on our stack (and cancels it, for its kind): the
/// order id, once the POST was accepted. The saga ends on `order-events`. A shed POST
/// is sent again with its `Idempotency-Key`, so it places one order however often,
/// on whichever instance it lands (they share the order database).
async fn place(http: &reqwest::Client, bases: &[String], kind: Kind, n: usize) -> Option<String> {
    let key = format!("load-{}", Uuid::now_v7().simple());
    let base = |attempt: usize| &bases[(n + attempt) % bases.len()];
    let response = patiently(|attempt| {
        http.post(format!("{}/orders", base(attempt)))
            .header("Idempotency-Key", &key)
            .json(&body(kind, n))
    })
    .await?;
    if response.status() != 202 {
        return None;
    }
    let created = response.json::<serde_json::Value>().await.ok()?;
    let order = created["order_id"].as_str()?.to_owned();
    if kind == Kind::Cancel {
        let _ = patiently(|attempt| http.post(format!("{}/orders/{order}/cancel", base(attempt))))
            .await;
    }
    Some(order)
}

/// The first answer other than 503 to the request `make` builds for its attempt (0, 1,
/// ...), sent again after each 503 (as its `Retry-After` says) or transport error (a
/// doubling backoff), with jitter so that shed clients do not all come back at once;
/// `None` after [`PATIENCE`].
async fn patiently(make: impl Fn(usize) -> reqwest::RequestBuilder) -> Option<reqwest::Response> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    for attempt in 0.. {
        let wait = match make(attempt).send().await {
            Ok(response) if response.status() != 503 => return Some(response),
            Ok(response) => retry_after(&response).unwrap_or(backoff),
            Err(_) => backoff,
        };
        let jitter = Duration::from_millis((Uuid::now_v7().as_u128() % 250) as u64);
        if started.elapsed() + wait > PATIENCE {
            return None;
        }
        tokio::time::sleep(wait + jitter).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
    None
}

/// A 503's `Retry-After`, in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Ends sagas in `tally` as their terminal events appear on `order-events`, from now
/// on. Partitions are assigned, not subscribed: a group with nothing committed would
/// restart at "latest" after a broker restart and miss what was produced meanwhile
/// (scripts/chaos restarts it).
fn watch_terminal_events(
    kafka: &KafkaConfig,
    tally: Arc<Mutex<Tally>>,
) -> anyhow::Result<JoinHandle<()>> {
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
    Ok(tokio::spawn(async move {
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
    }))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        load: super::LoadArgs,
    }

    #[test]
    fn no_concurrency_at_all_is_refused_by_the_parser() {
        let err = Cli::try_parse_from(["load", "--concurrency", "0"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{err}");
        let ok = Cli::try_parse_from(["load", "--concurrency", "1"]).unwrap();
        assert_eq!(ok.load.concurrency, 1);
    }
}
