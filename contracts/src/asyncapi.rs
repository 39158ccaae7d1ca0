//! The AsyncAPI 3 document of the saga's topics, generated from the contracts' own
//! types, so the document cannot drift from the code (`docs/asyncapi.yaml`, checked by
//! the contracts tests and validated with the AsyncAPI CLI in `scripts/test`).

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::events::{InventoryEvent, OrderEvent, PaymentEvent, TopicEvent};
use crate::headers;
use crate::topics::{
    INVENTORY_SERVICE, ORDER_SERVICE, PARTITIONS, PAYMENT_SERVICE, SAGA_TOPIC_MAX_BYTES,
    consumers_of,
};

/// `order-events` → `orderEvents`.
fn channel_id(topic: &str) -> String {
    let mut id = String::new();
    let mut upper = false;
    for c in topic.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            id.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            id.push(c);
        }
    }
    id
}

/// The headers every message carries (DESIGN.md §3), as a JSON schema.
fn headers_schema() -> Value {
    let text = json!({"type": "string"});
    json!({
        "type": "object",
        "required": [headers::CE_SPECVERSION, headers::CE_ID, headers::CE_TYPE, headers::CE_SOURCE, headers::CE_TIME,
                     headers::CONTENT_TYPE, headers::CORRELATION_ID, headers::CAUSATION_ID, headers::TRACEPARENT],
        "properties": {
            headers::CE_SPECVERSION: {"type": "string", "const": headers::SPECVERSION},
            headers::CE_ID: {"type": "string", "format": "uuid", "description": "Event id (UUID v7); every consumer's idempotency key."},
            headers::CE_TYPE: {"type": "string", "pattern": "^[a-z_]+\\.[a-z_]+\\.v[1-9][0-9]*$", "description": "Versioned type, e.g. order.created.v1."},
            headers::CE_SOURCE: {"type": "string", "description": "/order-service, /payment-service or /inventory-service."},
            headers::CE_TIME: {"type": "string", "format": "date-time"},
            headers::CONTENT_TYPE: {"type": "string", "const": headers::JSON_CONTENT_TYPE},
            headers::CORRELATION_ID: {"type": "string", "format": "uuid", "description": "The saga's id, constant from the first request to the last compensation."},
            headers::CAUSATION_ID: {"type": "string", "format": "uuid", "description": "The ce_id of the event that caused this one."},
            headers::TRACEPARENT: text.clone(),
            headers::TRACESTATE: text.clone(),
            headers::BAGGAGE: text,
            headers::TEST_INJECTED: {"type": "string", "const": "true", "description": "Only on messages a test injects on purpose."},
        },
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft07()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let topics = [
        (
            OrderEvent::TOPIC,
            ORDER_SERVICE,
            OrderEvent::message_schemas(&mut generator),
            consumers_of(OrderEvent::TOPIC),
        ),
        (
            PaymentEvent::TOPIC,
            PAYMENT_SERVICE,
            PaymentEvent::message_schemas(&mut generator),
            consumers_of(PaymentEvent::TOPIC),
        ),
        (
            InventoryEvent::TOPIC,
            INVENTORY_SERVICE,
            InventoryEvent::message_schemas(&mut generator),
            consumers_of(InventoryEvent::TOPIC),
        ),
    ];
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for (topic, producer, schemas, consumers) in &topics {
        let channel = channel_id(topic);
        let mut channel_messages = Map::new();
        let mut refs = Vec::new();
        for (name, version, title, payload) in schemas {
            let type_name = format!("{name}.v{version}");
            messages.insert(
                (*title).to_owned(),
                json!({
                    "name": type_name,
                    "title": title,
                    "contentType": headers::JSON_CONTENT_TYPE,
                    "headers": {"$ref": "#/components/schemas/Headers"},
                    "payload": payload,
                    "bindings": {"kafka": {"key": {"type": "string", "format": "uuid", "description": "The order id."}}},
                }),
            );
            channel_messages.insert(
                (*title).to_owned(),
                json!({"$ref": format!("#/components/messages/{title}")}),
            );
            refs.push(json!({"$ref": format!("#/channels/{channel}/messages/{title}")}));
        }
        channels.insert(
            channel.clone(),
            json!({
                "address": topic,
                "description": format!("Events of {producer}, keyed by order id."),
                "messages": channel_messages,
                "bindings": {"kafka": {"partitions": PARTITIONS, "topicConfiguration": {"max.message.bytes": SAGA_TOPIC_MAX_BYTES}}},
            }),
        );
        operations.insert(
            format!("{channel}Publish"),
            json!({"action": "send", "channel": {"$ref": format!("#/channels/{channel}")}, "messages": refs,
                   "summary": format!("{producer} publishes through its transactional outbox.")}),
        );
        for consumer in consumers {
            operations.insert(
                format!("{channel}By{}", channel_id(&format!("-{consumer}"))),
                json!({"action": "receive", "channel": {"$ref": format!("#/channels/{channel}")}, "messages": refs,
                       "summary": format!("{consumer} consumes as consumer group {consumer}."),
                       "bindings": {"kafka": {"groupId": {"type": "string", "enum": [consumer]}}}}),
            );
        }
    }
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert("Headers".to_owned(), headers_schema());
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Choreographed saga events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The saga's topics and events. Generated from the contracts crate; do not edit by hand.",
        },
        "defaultContentType": headers::JSON_CONTENT_TYPE,
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "The native and the compose stack."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    })
}
