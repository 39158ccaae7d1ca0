//! The order service reacts to the other services' events through Kafka: a reservation
//! confirms the order, its events go out through the outbox with causation ids chained.

use std::time::Duration;

use contracts::events::{StockReserved, TopicEvent};
use contracts::{EventMetadata, InventoryEvent, OrderId, headers};
use messaging::EventProducer;
use messaging::headers::{event_headers, last_value};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use test_support::TestDatabase;
use uuid::Uuid;

use crate::support::{settings, start};

#[tokio::test]
async fn a_reservation_on_inventory_events_confirms_the_order_and_order_events_carry_the_chain()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_saga").await?;
    let app = start(&database, settings(Duration::from_secs(60))).await?;
    let id = app.create_order().await?;
    let order: OrderId = id.parse()?;
    let (_, created) = app.get(&format!("/orders/{id}")).await?;
    let correlation: Uuid = created["correlation_id"].as_str().unwrap().parse()?;

    // What inventory would send, marked as injected by a test.
    let reserved = InventoryEvent::Reserved(StockReserved {
        order_id: order,
        reservation_id: Uuid::now_v7(),
        items: vec![contracts::LineItem {
            sku: "sku-widget".into(),
            quantity: 2,
            unit_price_cents: 1299,
        }],
    });
    let metadata = EventMetadata::new(
        reserved.event_type(),
        "inventory-service",
        chrono::Utc::now(),
        correlation,
        Uuid::now_v7(),
    );
    let headers =
        event_headers(&metadata, &opentelemetry::Context::new()).insert(rdkafka::message::Header {
            key: headers::TEST_INJECTED,
            value: Some("true"),
        });
    let producer = EventProducer::new(&test_support::kafka())?;
    producer
        .send_raw(
            &app.kafka.topic(InventoryEvent::TOPIC),
            id.as_bytes(),
            &reserved.encode(),
            headers,
        )
        .await?;

    let mut state = serde_json::Value::Null;
    for _ in 0..120 {
        state = app.get(&format!("/orders/{id}")).await?.1;
        if state["status"] == "confirmed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(state["status"], "confirmed", "{state}");
    let (_, history) = app.get(&format!("/orders/{id}/events")).await?;
    assert_eq!(
        history[1]["causation_id"],
        metadata.event_id.to_string(),
        "caused by the reservation"
    );

    // Both of the order's events reach order-events, keyed by the order, chained.
    let consumer: StreamConsumer = test_support::kafka()
        .consumer(&test_support::unique_name("order-events-reader"))
        .create()?;
    consumer.subscribe(&[&app.kafka.topic(contracts::topics::ORDER_EVENTS)])?;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < 2 && tokio::time::Instant::now() < deadline {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(10), consumer.recv()).await
        else {
            continue;
        };
        let message = message?;
        if message.key() != Some(id.as_bytes()) {
            continue;
        }
        let h = message.headers().expect("headers");
        let text = |name| last_value(h, name).map(|v| String::from_utf8_lossy(v).into_owned());
        seen.push((
            text(headers::CE_TYPE),
            text(headers::CORRELATION_ID),
            text(headers::CAUSATION_ID),
            text(headers::TRACEPARENT),
        ));
    }
    assert_eq!(
        seen.len(),
        2,
        "order.created and order.confirmed published: {seen:?}"
    );
    assert_eq!(seen[0].0.as_deref(), Some("order.created.v1"));
    assert_eq!(seen[1].0.as_deref(), Some("order.confirmed.v1"));
    for (_, correlation_id, _, _) in &seen {
        assert_eq!(
            correlation_id.as_deref(),
            Some(correlation.to_string().as_str())
        );
    }
    assert_eq!(
        seen[0].2.as_deref(),
        Some(correlation.to_string().as_str()),
        "the first event's cause is the correlation id"
    );
    assert_eq!(
        seen[1].2.as_deref(),
        Some(metadata.event_id.to_string().as_str())
    );
    app.stop().await?;
    database.drop_database().await
}
