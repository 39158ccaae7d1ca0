//! `SagaEvent::decode` and `EventType::parse` on arbitrary input.
//!
//! Input format (the seeds in `fuzz/seeds/decode_event` use it): the `ce_type` is
//! everything before the first `\n` (taken as UTF-8, lossily, as a Kafka header value
//! would have to be text to reach the codec), the body is everything after it. An
//! input without `\n` is a `ce_type` with an empty body.
//!
//! Properties, beyond "never panics":
//! - `EventType::parse` accepts only the canonical spelling: for `Ok(t)`, `t` prints
//!   back to exactly the input and that parses to `t`; every error is poison.
//! - `SagaEvent::decode`, for `Ok(event)`: the event has the type it was decoded as, the
//!   type is in a topic's catalogue, and encoding then decoding gives an equal event
//!   whose encoding is the same bytes.
//! - For `Err`: the class agrees with the type. Malformed iff the type does not parse;
//!   poison (`InvalidBody`) only for a type this build reads at its current version,
//!   and then that type's own topic decoder rejects the body too; unsupported version
//!   only for a catalogued name at another version; unknown only for a name no topic
//!   carries.
#![no_main]

use contracts::events::TopicEvent;
use contracts::{DecodeError, EventType, InventoryEvent, OrderEvent, PaymentEvent, SagaEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (raw_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let ce_type = String::from_utf8_lossy(raw_type);
    let ce_type = ce_type.as_ref();

    let parsed = check_event_type(ce_type);
    check_decode(ce_type, parsed.as_ref(), body);
});

fn check_event_type(raw: &str) -> Option<EventType> {
    match EventType::parse(raw) {
        Ok(t) => {
            let printed = t.to_string();
            assert_eq!(
                printed, raw,
                "EventType::parse accepted a non-canonical spelling"
            );
            let again = EventType::parse(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} (printed from {t:?}) does not parse: {e}"));
            assert_eq!(again, t, "{printed:?} parses to another type");
            assert_eq!(
                t.name().len() + 2 + t.version().to_string().len(),
                raw.len()
            );
            assert!(t.version() >= 1);
            Some(t)
        }
        Err(err) => {
            assert!(
                matches!(err, DecodeError::MalformedType(_)),
                "EventType::parse failed with a non-malformed error: {err:?}"
            );
            assert!(err.is_poison(), "a malformed type is not poison: {err:?}");
            None
        }
    }
}

/// `(name, current version)` of every event any topic carries.
fn catalogue() -> impl Iterator<Item = &'static (&'static str, u32)> {
    OrderEvent::CATALOGUE
        .iter()
        .chain(PaymentEvent::CATALOGUE)
        .chain(InventoryEvent::CATALOGUE)
}

/// The topic decoder of `t`'s domain, as `SagaEvent::decode` dispatches.
fn decode_by_topic(t: &EventType, ce_type: &str, body: &[u8]) -> Option<Result<(), DecodeError>> {
    match t.domain() {
        "order" => Some(OrderEvent::decode(ce_type, body).map(drop)),
        "payment" => Some(PaymentEvent::decode(ce_type, body).map(drop)),
        "stock" => Some(InventoryEvent::decode(ce_type, body).map(drop)),
        _ => None,
    }
}

fn check_decode(ce_type: &str, parsed: Option<&EventType>, body: &[u8]) {
    let result = SagaEvent::decode(ce_type, body);
    let Some(t) = parsed else {
        // The codec must classify a type it cannot parse as malformed, whatever the body.
        match result {
            Err(DecodeError::MalformedType(_)) => return,
            other => panic!("{ce_type:?} does not parse but decode gave {other:?}"),
        }
    };
    let catalogued_now =
        catalogue().any(|&(name, version)| name == t.name() && version == t.version());
    let catalogued_name = catalogue().any(|&(name, _)| name == t.name());

    match result {
        Ok(event) => {
            assert_eq!(
                &event.event_type(),
                t,
                "decoded as {ce_type} but is {}",
                event.event_type()
            );
            assert!(catalogued_now, "{ce_type} decoded but is in no catalogue");

            let encoded = event.encode();
            let again = SagaEvent::decode(&event.event_type().to_string(), &encoded)
                .unwrap_or_else(|e| {
                    panic!(
                        "re-encoded {ce_type} does not decode ({e}): {}",
                        String::from_utf8_lossy(&encoded)
                    )
                });
            assert_eq!(again, event, "{ce_type} does not round-trip");
            assert_eq!(
                again.encode(),
                encoded,
                "{ce_type} re-encodes to other bytes"
            );
        }
        Err(err) => {
            let by_topic = decode_by_topic(t, ce_type, body);
            match &err {
                DecodeError::MalformedType(_) => {
                    panic!("{ce_type:?} parses but decode called it malformed: {err}")
                }
                DecodeError::InvalidBody { event_type, .. } => {
                    assert!(
                        catalogued_now,
                        "{ce_type}: poison body for a type no topic reads at this version"
                    );
                    assert_eq!(event_type, ce_type);
                    match by_topic {
                        Some(Err(e)) if e.is_poison() => {}
                        other => panic!(
                            "{ce_type}: SagaEvent says poison, its topic decoder says {other:?}"
                        ),
                    }
                }
                DecodeError::UnsupportedVersion { known, .. } => {
                    assert!(
                        catalogued_name && !catalogued_now,
                        "{ce_type}: unsupported version of {err}"
                    );
                    assert!(
                        catalogue().any(|&(name, version)| name == t.name() && version == *known)
                    );
                }
                DecodeError::UnknownType(_) => {
                    assert!(
                        !catalogued_name,
                        "{ce_type} is catalogued but decode called it unknown"
                    );
                }
            }
            assert_eq!(
                err.is_poison(),
                matches!(err, DecodeError::InvalidBody { .. }),
                "is_poison disagrees with the error class: {err:?}"
            );
        }
    }
}
