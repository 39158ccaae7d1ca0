//! `docs/asyncapi.yaml` is what the contracts generate; `UPDATE_ASYNCAPI=1` rewrites it.

use std::path::Path;

#[test]
fn the_asyncapi_document_is_current() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/asyncapi.yaml");
    // JSON is YAML: the generated document is written as (pretty) JSON.
    let generated = serde_json::to_string_pretty(&contracts::asyncapi::document()).unwrap() + "\n";
    if std::env::var("UPDATE_ASYNCAPI").is_ok() {
        std::fs::write(&file, &generated).unwrap();
    }
    let stored = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        stored == generated,
        "{} is stale: run UPDATE_ASYNCAPI=1 cargo test -p contracts --test wire asyncapi",
        file.display()
    );
}

#[test]
fn the_document_names_every_event_of_the_catalogue() {
    let document = contracts::asyncapi::document();
    let names: Vec<String> = document["components"]["messages"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    for (name, version) in [
        contracts::OrderEvent::CATALOGUE,
        contracts::PaymentEvent::CATALOGUE,
        contracts::InventoryEvent::CATALOGUE,
    ]
    .concat()
    {
        assert!(
            names.contains(&format!("{name}.v{version}")),
            "{name}.v{version} is not documented"
        );
    }
}
