//! payment refuses to act on what it cannot trust, against the real Kafka and
//! PostgreSQL: an event that breaks its contract is dead-lettered as poison before any
//! database work, and a state row that breaks the service's own invariants (an unknown
//! status, a capture without its account) is dead-lettered instead of charging or
//! refunding on a guess. Neither blocks the orders behind it.

mod support;

use std::collections::BTreeMap;

use contracts::events::OrderCancelled;
use contracts::{CancelReason, OrderEvent, OrderId};
use uuid::Uuid;

use support::{Payment, line, order_created};

#[tokio::test]
async fn an_order_whose_total_is_not_its_lines_is_dead_lettered_as_poison_and_charges_nothing()
-> anyhow::Result<()> {
    let payment = Payment::start("payment_contract").await?;
    let before = payment.balance("c-rich").await?;

    // 2 × 12.99 stated as one cent: charging the stated total would give the goods away.
    let bad = OrderId::new();
    payment
        .send(&order_created(bad, vec![line("sku-widget", 2, 1299)], 1))
        .await?;
    let good = OrderId::new();
    payment
        .send(&order_created(
            good,
            vec![line("sku-widget", 2, 1299)],
            2598,
        ))
        .await?;

    assert_eq!(payment.settled(good).await?, "captured");
    let dead = payment.dead_letters(1).await?;
    assert_eq!(dead[0].key_text(), bad.to_string());
    assert_eq!(dead[0].text("dlq-error-class"), "poison");
    let error = dead[0].text("dlq-error");
    assert!(
        error.contains("total_cents") && error.contains("2598"),
        "the reason names the field: {error}"
    );
    assert_eq!(payment.status_of(bad).await?, None, "nothing was decided");
    assert_eq!(payment.ledger_lines(bad).await?, 0);
    assert_eq!(payment.balance("c-rich").await?, before - 2598);
    payment.stop().await
}

#[tokio::test]
async fn corrupt_state_rows_are_dead_lettered_and_move_no_money() -> anyhow::Result<()> {
    let payment = Payment::start("payment_corrupt").await?;
    let before = payment.balance("c-rich").await?;

    // A capture without its customer, one whose account is gone, and a status nobody
    // wrote: each would refund into nowhere or charge again on a guess.
    let no_customer = OrderId::new();
    let no_account = OrderId::new();
    let unknown_status = OrderId::new();
    for (order, status, customer) in [
        (no_customer, "captured", None),
        (no_account, "captured", Some("c-ghost")),
        (unknown_status, "charged-maybe", Some("c-rich")),
    ] {
        sqlx::query(
            "INSERT INTO payments (order_id, status, payment_id, customer_id, amount_cents)
             VALUES ($1, $2, $3, $4, 500)",
        )
        .bind(order.0)
        .bind(status)
        .bind(Uuid::now_v7())
        .bind(customer)
        .execute(&payment.pool)
        .await?;
    }
    let cancelled = |order_id| {
        OrderEvent::Cancelled(OrderCancelled {
            order_id,
            reason: CancelReason::Customer,
        })
    };
    payment.send(&cancelled(no_customer)).await?;
    payment.send(&cancelled(no_account)).await?;
    payment
        .send(&order_created(
            unknown_status,
            vec![line("sku-widget", 1, 700)],
            700,
        ))
        .await?;
    // An order behind them is served.
    let good = OrderId::new();
    payment
        .send(&order_created(good, vec![line("sku-widget", 1, 100)], 100))
        .await?;
    assert_eq!(payment.settled(good).await?, "captured");

    let dead: BTreeMap<String, support::Dead> = payment
        .dead_letters(3)
        .await?
        .into_iter()
        .map(|d| (d.key_text(), d))
        .collect();
    for (order, says) in [
        (no_customer, "no customer"),
        (no_account, "c-ghost"),
        (unknown_status, "charged-maybe"),
    ] {
        let letter = &dead[&order.to_string()];
        assert_eq!(letter.text("dlq-error-class"), "handler");
        let error = letter.text("dlq-error");
        assert!(error.contains(says), "{order}: {error}");
        assert_eq!(payment.ledger_lines(order).await?, 0, "{order} moved money");
    }
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM payments WHERE order_id = ANY($1) ORDER BY status")
            .bind(vec![no_customer.0, no_account.0, unknown_status.0])
            .fetch_all(&payment.pool)
            .await?;
    assert_eq!(statuses, ["captured", "captured", "charged-maybe"]);
    let refunds: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_type = 'payment.refunded.v1'")
            .fetch_one(&payment.pool)
            .await?;
    assert_eq!(refunds, 0, "no refund was announced");
    assert_eq!(payment.balance("c-rich").await?, before - 100);
    payment.stop().await
}

#[tokio::test]
async fn a_cancel_for_an_unknown_order_leaves_a_state_row_that_retention_prunes()
-> anyhow::Result<()> {
    let payment = Payment::start("payment_retention").await?;
    let unknown = OrderId::new();
    payment
        .send(&OrderEvent::Cancelled(OrderCancelled {
            order_id: unknown,
            reason: CancelReason::Customer,
        }))
        .await?;
    let row = async || -> anyhow::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT status FROM payments WHERE order_id = $1")
                .bind(unknown.0)
                .fetch_optional(&payment.pool)
                .await?,
        )
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while row().await?.is_none() {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no state row");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let rule = service_kit::retention::Retention::untouched_state_rows(
        "payments",
        &["cancelled_before_charge"],
        std::time::Duration::from_secs(3600),
    );
    assert_eq!(rule.prune(&payment.pool).await?, 0, "a young row stays");
    sqlx::query("UPDATE payments SET updated_at = now() - interval '2 hours'")
        .execute(&payment.pool)
        .await?;
    assert_eq!(rule.prune(&payment.pool).await?, 1);
    assert_eq!(row().await?, None);
    payment.stop().await
}
