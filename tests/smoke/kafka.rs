//! A contracts event produced with every header and consumed back through a group.

use std::time::Duration;

use contracts::events::{OrderCreated, TopicEvent};
use contracts::{Currency, EventMetadata, LineItem, OrderEvent, OrderId, headers};
use messaging::EventProducer;
use messaging::headers::{CORRELATION_BAGGAGE_KEY, extract_context, last_value};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use uuid::Uuid;

fn order_created() -> OrderEvent {
    OrderEvent::Created(OrderCreated {
        order_id: OrderId::new(),
        customer_id: "c-rich".to_owned(),
        items: vec![LineItem {
            sku: "sku-widget".to_owned(),
            quantity: 2,
            unit_price_cents: 1299,
        }],
        total_cents: 2598,
        currency: Currency::Eur,
    })
}

/// A remote parent as an upstream service would have sent it.
fn upstream_context() -> Context {
    let span = SpanContext::new(
        TraceId::from_bytes(Uuid::now_v7().into_bytes()),
        SpanId::from_bytes(*b"\x01\x02\x03\x04\x05\x06\x07\x08"),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span)
}

#[tokio::test]
async fn an_event_round_trips_through_kafka_with_every_header() -> anyhow::Result<()> {
    telemetry::install_propagators();
    let kafka = test_support::kafka();
    let topic = test_support::create_topic("smoke-events", 3).await?;
    let group = test_support::unique_name("smoke-group");

    let event = order_created();
    let correlation_id = Uuid::now_v7();
    let metadata = EventMetadata::new(
        event.event_type(),
        "order-service",
        chrono_now(),
        correlation_id,
        correlation_id,
    );
    let cx = upstream_context();
    let producer = EventProducer::new(&kafka)?;
    let key = event.order_id().to_string();
    let delivered = producer
        .send_raw(
            &topic,
            key.as_bytes(),
            &event.encode(),
            messaging::headers::event_headers(&metadata, &cx),
        )
        .await?;
    eprintln!(
        "kafka: produced {} to {topic} partition {} offset {} on broker {}",
        metadata.event_type, delivered.partition, delivered.offset, kafka.bootstrap_servers
    );

    let consumer: StreamConsumer = kafka.consumer(&group).create()?;
    consumer.subscribe(&[&topic])?;
    let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .map_err(|_| anyhow::anyhow!("nothing consumed from {topic} within 30s"))??;
    let received = message.headers().expect("the message has headers");

    let header = |name: &str| last_value(received, name);
    for name in [
        headers::CE_SPECVERSION,
        headers::CE_ID,
        headers::CE_TYPE,
        headers::CE_SOURCE,
        headers::CE_TIME,
        headers::CONTENT_TYPE,
        headers::CORRELATION_ID,
        headers::CAUSATION_ID,
        headers::TRACEPARENT,
        headers::BAGGAGE,
    ] {
        assert!(header(name).is_some(), "header {name} is missing");
    }
    assert_eq!(
        header(headers::CONTENT_TYPE),
        Some(&b"application/json"[..])
    );
    assert_eq!(EventMetadata::from_headers(header)?, metadata);

    let parent = extract_context(received);
    assert_eq!(
        parent.span().span_context().trace_id(),
        cx.span().span_context().trace_id()
    );
    let baggage = parent
        .baggage()
        .get(CORRELATION_BAGGAGE_KEY)
        .map(|v| v.to_string());
    assert_eq!(baggage, Some(correlation_id.to_string()));

    assert_eq!(message.key(), Some(key.as_bytes()));
    let body = message.payload().expect("the message has a body");
    assert_eq!(
        OrderEvent::decode(&metadata.event_type.to_string(), body)?,
        event
    );
    eprintln!(
        "kafka: consumed it back in group {group} from partition {} offset {}, {} headers intact",
        message.partition(),
        message.offset(),
        received.count()
    );
    Ok(())
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    // Microsecond precision, as ce_time carries it.
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).expect("now is representable")
}
