//! `sagactl bench outbox`: the batched relay against a one-at-a-time relay and the raw
//! producer, in one run, on a topic and schema of its own that are removed afterwards.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use contracts::topics::TopicSpec;
use futures_util::future::join_all;
use messaging::admin::{delete_topics, ensure_topics};
use messaging::headers::to_owned_headers;
use messaging::{EventProducer, KafkaConfig};
use outbox::{Relay, RelayConfig, RelayStep, Wakeup};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Outbox relay throughput: batched vs one-at-a-time vs the raw producer.
    Outbox(OutboxBench),
}

#[derive(Debug, Args)]
pub(crate) struct OutboxBench {
    /// Rows the batched relay and the raw producer publish.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Rows the one-at-a-time relay publishes (it is slow; its rate is rows ÷ time).
    #[arg(long, default_value_t = 5_000)]
    one_at_a_time_events: usize,
    /// Rows per batch of the batched relay.
    #[arg(long, default_value_t = 1000)]
    batch_size: i64,
    /// Repeat the three measurements and report each run, then median and spread.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Database whose server hosts the benchmark's own schema.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
}

pub(crate) async fn run(kafka: &KafkaConfig, command: BenchCommand) -> anyhow::Result<()> {
    let BenchCommand::Outbox(bench) = command;
    let mut results = Vec::new();
    for run in 1..=bench.runs {
        let result = outbox_run(kafka, &bench).await?;
        eprintln!("run {run}/{}: {}", bench.runs, result);
        results.push(result);
    }
    if bench.runs > 1 {
        for key in ["batched_eps", "one_at_a_time_eps", "raw_producer_eps"] {
            let mut values: Vec<f64> = results
                .iter()
                .map(|r| r[key].as_f64().unwrap_or(0.0))
                .collect();
            values.sort_by(f64::total_cmp);
            eprintln!(
                "{key}: median {:.0}, min {:.0}, max {:.0}",
                values[values.len() / 2],
                values[0],
                values[values.len() - 1]
            );
        }
    }
    println!("{}", results.last().context("at least one run")?);
    Ok(())
}

/// One measurement of all three, on a fresh topic and schema.
async fn outbox_run(kafka: &KafkaConfig, bench: &OutboxBench) -> anyhow::Result<serde_json::Value> {
    let id = Uuid::now_v7().simple().to_string();
    let topic = format!("bench-{id}");
    let schema = format!("bench_{id}");
    ensure_topics(
        kafka,
        &[TopicSpec {
            name: topic.clone(),
            partitions: contracts::topics::PARTITIONS,
            max_message_bytes: contracts::topics::SAGA_TOPIC_MAX_BYTES,
        }],
    )
    .await?;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&bench.database_url)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await?;
    let outcome = measure(kafka, bench, &topic, &schema).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await?;
    delete_topics(kafka, &[&topic]).await?;
    outcome
}

async fn measure(
    kafka: &KafkaConfig,
    bench: &OutboxBench,
    topic: &str,
    schema: &str,
) -> anyhow::Result<serde_json::Value> {
    let options: PgConnectOptions = bench
        .database_url
        .parse::<PgConnectOptions>()?
        .options([("search_path", schema)]);
    let url = options.to_url_lossy().to_string();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    messaging::schema::migrator().run(&pool).await?;
    let producer = EventProducer::new(kafka)?;

    // Batched relay: rows inserted before the clock starts.
    insert_rows(&pool, topic, bench.events).await?;
    let config = RelayConfig {
        batch_size: bench.batch_size,
        schema: schema.to_owned(),
        ..RelayConfig::default()
    };
    let mut relay = Relay::new(&url, producer.clone(), Wakeup::new(), config);
    let started = Instant::now();
    let published = match relay.drain().await? {
        RelayStep::Published { rows, .. } => rows,
        other => anyhow::bail!("the relay did not publish: {other:?}"),
    };
    let batched = started.elapsed();
    anyhow::ensure!(
        published == bench.events,
        "the batched relay published {published} of {}",
        bench.events
    );

    // One at a time: read one row, produce it, wait for its report, mark it.
    sqlx::query("TRUNCATE outbox").execute(&pool).await?;
    insert_rows(&pool, topic, bench.one_at_a_time_events).await?;
    // Its best case: no linger, since it waits for every report before the next send.
    let eager = EventProducer::with_overrides(kafka, &[("linger.ms", "0")])?;
    let started = Instant::now();
    let one_by_one = one_at_a_time(&pool, &eager).await?;
    let one_at_a_time_time = started.elapsed();
    anyhow::ensure!(
        one_by_one == bench.one_at_a_time_events,
        "one-at-a-time published {one_by_one}"
    );

    // The raw producer, no database: the ceiling.
    let payload = serde_json::to_vec(&sample_payload(0))?;
    let started = Instant::now();
    let mut pending = Vec::with_capacity(bench.events);
    for i in 0..bench.events {
        let key = format!("key-{:03}", i % 100);
        let headers = to_owned_headers(sample_headers());
        pending.push(
            producer
                .enqueue_raw(topic, key.as_bytes(), &payload, headers)
                .await?,
        );
    }
    for result in join_all(pending.into_iter().map(|p| p.delivered())).await {
        result?;
    }
    let raw = started.elapsed();

    pool.close().await;
    let eps = |n: usize, t: Duration| (n as f64 / t.as_secs_f64()).round();
    Ok(json!({
        "events": bench.events,
        "batched_eps": eps(bench.events, batched),
        "one_at_a_time_eps": eps(bench.one_at_a_time_events, one_at_a_time_time),
        "raw_producer_eps": eps(bench.events, raw),
    }))
}

/// The seed design's relay: produce, flush, mark, one event at a time.
async fn one_at_a_time(pool: &PgPool, producer: &EventProducer) -> anyhow::Result<usize> {
    let mut published = 0;
    loop {
        let row: Option<(i64, String, String, serde_json::Value)> = sqlx::query_as(
            "SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT 1",
        )
        .fetch_optional(pool)
        .await?;
        let Some((id, topic, key, payload)) = row else {
            return Ok(published);
        };
        let body = serde_json::to_vec(&payload)?;
        producer
            .send_raw(
                &topic,
                key.as_bytes(),
                &body,
                to_owned_headers(sample_headers()),
            )
            .await?;
        sqlx::query("UPDATE outbox SET published_at = now() WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
        published += 1;
    }
}

fn sample_payload(seq: usize) -> serde_json::Value {
    json!({
        "order_id": Uuid::now_v7(),
        "customer_id": "load-c-001",
        "items": [{"sku": "load-sku-001", "quantity": 1, "unit_price_cents": 1299}],
        "total_cents": 1299,
        "currency": "EUR",
        "seq": seq,
    })
}

fn sample_headers() -> Vec<(String, String)> {
    let id = Uuid::now_v7().to_string();
    vec![
        ("ce_specversion".into(), "1.0".into()),
        ("ce_id".into(), id.clone()),
        ("ce_type".into(), "order.created.v1".into()),
        ("ce_source".into(), "/order-service".into()),
        ("ce_time".into(), "2026-11-27T00:00:00.000000Z".into()),
        ("content-type".into(), "application/json".into()),
        ("correlation-id".into(), id.clone()),
        ("causation-id".into(), id),
        (
            "traceparent".into(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        ),
    ]
}

/// Inserts `count` rows over 100 keys in one statement per 10,000.
async fn insert_rows(pool: &PgPool, topic: &str, count: usize) -> anyhow::Result<()> {
    let headers = serde_json::to_value(
        sample_headers()
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>(),
    )?;
    for chunk_start in (0..count).step_by(10_000) {
        let n = (count - chunk_start).min(10_000);
        let keys: Vec<String> = (chunk_start..chunk_start + n)
            .map(|i| format!("key-{:03}", i % 100))
            .collect();
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let payloads: Vec<serde_json::Value> =
            (chunk_start..chunk_start + n).map(sample_payload).collect();
        sqlx::query(
            "INSERT INTO outbox (topic, key, event_id, event_type, payload, headers)
             SELECT $1, k, e, 'order.created.v1', p, $5 FROM unnest($2::text[], $3::uuid[], $4::jsonb[]) AS t(k, e, p)",
        )
        .bind(topic)
        .bind(&keys)
        .bind(&ids)
        .bind(&payloads)
        .bind(&headers)
        .execute(pool)
        .await?;
    }
    Ok(())
}
