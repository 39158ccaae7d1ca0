//! inventory refuses to act on what it cannot trust, against the real Kafka and
//! PostgreSQL: a `PaymentCompleted` that breaks its contract (a SKU twice, a zero
//! quantity) is dead-lettered as poison, with the reason, before any database work,
//! instead of reserving twice or failing on a CHECK after retries; a reservation row
//! with a status nobody wrote is dead-lettered, not read as `new`. Neither blocks the
//! orders behind it.

mod support;

use std::collections::BTreeMap;

use contracts::OrderId;
use uuid::Uuid;

use support::{Inventory, line, paid};

#[tokio::test]
async fn a_sku_twice_or_a_zero_quantity_is_dead_lettered_as_poison_and_reserves_nothing()
-> anyhow::Result<()> {
    let inventory = Inventory::start("inventory_contract").await?;
    let before = inventory.stock("sku-widget").await?;

    let twice = OrderId::new();
    inventory
        .send(&paid(
            twice,
            vec![line("sku-widget", 3, 100), line("sku-widget", 4, 100)],
        ))
        .await?;
    let zero = OrderId::new();
    inventory
        .send(&paid(
            zero,
            vec![line("sku-gadget", 1, 100), line("sku-widget", 0, 100)],
        ))
        .await?;
    let good = OrderId::new();
    inventory
        .send(&paid(good, vec![line("sku-widget", 2, 100)]))
        .await?;
    assert_eq!(inventory.settled(good).await?, "reserved");

    let dead: BTreeMap<String, support::Dead> = inventory
        .dead_letters(2)
        .await?
        .into_iter()
        .map(|d| (d.key_text(), d))
        .collect();
    for (order, says) in [
        (twice, "items[1].sku: \"sku-widget\" appears twice"),
        (zero, "items[1].quantity: 0 is not 1 to 10000"),
    ] {
        let letter = &dead[&order.to_string()];
        assert_eq!(letter.text("dlq-error-class"), "poison", "{order}");
        assert_eq!(letter.text("dlq-attempts"), "1", "dead-lettered at once");
        let error = letter.text("dlq-error");
        assert!(error.contains(says), "{order}: {error}");
        assert_eq!(inventory.status_of(order).await?, None);
        assert_eq!(inventory.movements(order).await?, 0);
    }
    assert_eq!(
        inventory.stock("sku-widget").await?,
        (before.0 - 2, before.1 + 2),
        "only the valid order holds stock"
    );
    inventory.stop().await
}

#[tokio::test]
async fn a_reservation_with_an_unknown_status_is_dead_lettered_not_read_as_new()
-> anyhow::Result<()> {
    let inventory = Inventory::start("inventory_corrupt").await?;
    let before = inventory.stock("sku-widget").await?;
    let corrupt = OrderId::new();
    sqlx::query(
        "INSERT INTO order_reservations (order_id, status, reservation_id) VALUES ($1, 'reserved?', $2)",
    )
    .bind(corrupt.0)
    .bind(Uuid::now_v7())
    .execute(&inventory.pool)
    .await?;
    inventory
        .send(&paid(corrupt, vec![line("sku-widget", 5, 100)]))
        .await?;
    let good = OrderId::new();
    inventory
        .send(&paid(good, vec![line("sku-widget", 1, 100)]))
        .await?;
    assert_eq!(inventory.settled(good).await?, "reserved");

    let dead = inventory.dead_letters(1).await?;
    assert_eq!(dead[0].key_text(), corrupt.to_string());
    assert_eq!(dead[0].text("dlq-error-class"), "handler");
    let error = dead[0].text("dlq-error");
    assert!(error.contains("reserved?"), "{error}");
    assert_eq!(inventory.movements(corrupt).await?, 0);
    assert_eq!(
        inventory.stock("sku-widget").await?,
        (before.0 - 1, before.1 + 1)
    );
    inventory.stop().await
}
