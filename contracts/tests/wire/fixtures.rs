//! Golden fixtures: every event at every version still decodes, and the current
//! version encodes to exactly its fixture.

use std::path::{Path, PathBuf};

use contracts::events::TopicEvent;
use contracts::{DecodeError, InventoryEvent, OrderEvent, PaymentEvent, SagaEvent};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every `(type, current version)` the contracts define.
fn catalogue() -> Vec<(&'static str, u32)> {
    [
        OrderEvent::CATALOGUE,
        PaymentEvent::CATALOGUE,
        InventoryEvent::CATALOGUE,
    ]
    .concat()
}

fn read_fixture(file: &Path) -> (String, Vec<u8>) {
    let name = file.file_name().unwrap().to_str().unwrap();
    let event_type = name
        .strip_suffix(".json")
        .expect("fixtures are .json files");
    (event_type.to_owned(), std::fs::read(file).unwrap())
}

fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| read_fixture(f)).collect()
}

#[test]
fn every_event_of_the_catalogue_has_a_fixture_at_its_current_version() {
    for (name, version) in catalogue() {
        let file = fixtures_dir().join(format!("{name}.v{version}.json"));
        assert!(file.exists(), "missing fixture {}", file.display());
    }
}

#[test]
fn every_fixture_decodes() {
    let fixtures = all_fixtures();
    assert_eq!(fixtures.len(), catalogue().len());
    for (event_type, body) in fixtures {
        let event = SagaEvent::decode(&event_type, &body)
            .unwrap_or_else(|e| panic!("{event_type} no longer decodes: {e}"));
        assert_eq!(event.event_type().to_string(), event_type);
    }
}

/// A fixture is what a producer sends: each keeps its contract, so consumers take it.
#[test]
fn every_fixture_keeps_its_contract() {
    use contracts::Validate;
    for (event_type, body) in all_fixtures() {
        let event = SagaEvent::decode(&event_type, &body).unwrap();
        assert_eq!(event.validate(), Ok(()), "{event_type}");
    }
}

#[test]
fn the_current_version_encodes_to_its_fixture() {
    for (event_type, body) in all_fixtures() {
        let event = SagaEvent::decode(&event_type, &body).unwrap();
        let encoded: serde_json::Value = serde_json::from_slice(&event.encode()).unwrap();
        let golden: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            encoded, golden,
            "{event_type} encodes differently from its fixture"
        );
    }
}

#[test]
fn unknown_fields_are_tolerated() {
    for (event_type, body) in all_fixtures() {
        let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let object = value.as_object_mut().unwrap();
        object.insert(
            "added_in_a_later_minor".into(),
            serde_json::json!({"nested": [1, 2]}),
        );
        let widened = serde_json::to_vec(&value).unwrap();
        let plain = SagaEvent::decode(&event_type, &body).unwrap();
        let tolerant = SagaEvent::decode(&event_type, &widened)
            .unwrap_or_else(|e| panic!("{event_type} rejects an unknown field: {e}"));
        assert_eq!(tolerant, plain);
    }
}

#[test]
fn an_unknown_version_of_a_known_event_is_unsupported_not_skipped() {
    let (_, body) = read_fixture(&fixtures_dir().join("order.created.v1.json"));
    let err = OrderEvent::decode("order.created.v9", &body).unwrap_err();
    assert!(
        matches!(err, DecodeError::UnsupportedVersion { ref event_type, known: 1 } if event_type == "order.created.v9")
    );
    assert!(!err.is_poison());
}

#[test]
fn a_type_the_topic_does_not_carry_is_unknown() {
    let err = PaymentEvent::decode("payment.invoiced.v1", b"{}").unwrap_err();
    assert!(matches!(err, DecodeError::UnknownType(_)));
    let err = SagaEvent::decode("shipping.dispatched.v1", b"{}").unwrap_err();
    assert!(matches!(err, DecodeError::UnknownType(_)));
}

#[test]
fn a_body_that_does_not_match_its_type_is_poison() {
    for body in [&b""[..], b"{", b"null", b"[]", b"{\"order_id\": 5}"] {
        let err = OrderEvent::decode("order.confirmed.v1", body).unwrap_err();
        assert!(
            err.is_poison(),
            "{:?} should be poison",
            String::from_utf8_lossy(body)
        );
    }
    let (_, body) = read_fixture(&fixtures_dir().join("order.created.v1.json"));
    let err = InventoryEvent::decode("stock.reserved.v1", &body).unwrap_err();
    assert!(
        err.is_poison(),
        "an order.created body is not a stock.reserved"
    );
}
