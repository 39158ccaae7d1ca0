//! Sorting a message before any database work: skip, dead-letter at once, or handle.
//! Every handled event is checked against its contract here (`contracts::validate`),
//! once for every service: a handler only ever sees an event its producer could have
//! sent, and one that breaks its contract is poison, with the broken field as reason.

use contracts::{DecodeError, EventMetadata, SagaEvent, Validate};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

use super::{Envelope, Handler};
use crate::dlq::DlqClass;
use crate::headers::last_value;
use crate::inbox::body_sha256;

/// What to do with a message.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// A type this service does not handle: store the offset, log, move on.
    Skip(String),
    /// Dead-letter at once, with this class and reason.
    DeadLetter(DlqClass, String),
    /// Handle it.
    Handle(Box<Envelope>, [u8; 32]),
}

pub(crate) fn prepare<H: Handler>(handler: &H, message: &OwnedMessage) -> Prepared {
    let Some(headers) = message.headers() else {
        return Prepared::DeadLetter(DlqClass::Poison, "the message has no headers".to_owned());
    };
    let metadata = match EventMetadata::from_headers(|name| last_value(headers, name)) {
        Ok(metadata) => metadata,
        Err(err) => return Prepared::DeadLetter(DlqClass::Poison, err.to_string()),
    };
    let name = metadata.event_type.name().to_owned();
    if !handler.handles(&name) {
        return Prepared::Skip(format!(
            "{} is not handled by this service",
            metadata.event_type
        ));
    }
    let body = message.payload().unwrap_or_default();
    let event = match SagaEvent::decode(&metadata.event_type.to_string(), body) {
        Ok(event) => event,
        Err(DecodeError::UnknownType(t)) => {
            return Prepared::Skip(format!("{t} is not a known event"));
        }
        Err(err @ DecodeError::UnsupportedVersion { .. }) => {
            return Prepared::DeadLetter(DlqClass::UnsupportedVersion, err.to_string());
        }
        Err(err) => return Prepared::DeadLetter(DlqClass::Poison, err.to_string()),
    };
    if let Err(violation) = event.validate() {
        let event_type = metadata.event_type.to_string();
        metrics::counter!("events_contract_violations_total", "type" => event_type.clone())
            .increment(1);
        return Prepared::DeadLetter(
            DlqClass::Poison,
            format!("{event_type} breaks its contract: {violation}"),
        );
    }
    let sha = body_sha256(body);
    Prepared::Handle(
        Box::new(Envelope {
            metadata,
            event,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        }),
        sha,
    )
}

#[cfg(test)]
mod tests {
    use contracts::events::{OrderCreated, TopicEvent};
    use contracts::{Currency, LineItem, OrderEvent, OrderId};
    use rdkafka::Timestamp;
    use sqlx::PgConnection;

    use super::*;
    use crate::consumer::Outcome;
    use crate::error::HandlerError;
    use crate::headers::event_headers;

    struct OrdersOnly;

    impl Handler for OrdersOnly {
        fn handles(&self, name: &str) -> bool {
            name == "order.created"
        }

        fn state_table(&self) -> &'static str {
            "payments"
        }

        async fn handle(
            &self,
            _tx: &mut PgConnection,
            _envelope: &Envelope,
        ) -> Result<Outcome, HandlerError> {
            Ok(Outcome::Applied)
        }
    }

    fn message(total_cents: i64, quantity: u32) -> OwnedMessage {
        let event = OrderEvent::Created(OrderCreated {
            order_id: OrderId::new(),
            customer_id: "c-rich".into(),
            items: vec![LineItem {
                sku: "sku-widget".into(),
                quantity,
                unit_price_cents: 100,
            }],
            total_cents,
            currency: Currency::Eur,
        });
        let correlation = uuid::Uuid::now_v7();
        let metadata = EventMetadata::new(
            event.event_type(),
            "order-service",
            chrono::Utc::now(),
            correlation,
            correlation,
        );
        OwnedMessage::new(
            Some(event.encode()),
            Some(event.order_id().to_string().into_bytes()),
            "order-events".into(),
            Timestamp::NotAvailable,
            0,
            0,
            Some(event_headers(&metadata, &Default::default())),
        )
    }

    #[test]
    fn an_event_within_its_contract_is_handled() {
        assert!(matches!(
            prepare(&OrdersOnly, &message(200, 2)),
            Prepared::Handle(..)
        ));
    }

    #[test]
    fn an_event_that_breaks_its_contract_is_poison_with_the_field_as_reason() {
        for (total, quantity, field) in [(1, 2, "total_cents"), (0, 0, "items[0].quantity")] {
            match prepare(&OrdersOnly, &message(total, quantity)) {
                Prepared::DeadLetter(DlqClass::Poison, reason) => {
                    assert!(
                        reason.starts_with("order.created.v1 breaks its contract: ")
                            && reason.contains(field),
                        "{reason}"
                    );
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
