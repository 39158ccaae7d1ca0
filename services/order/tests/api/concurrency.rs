//! Two writers to one order: the second loses the race for the next version, decides
//! again on the new state, and both effects are kept.

use std::time::Duration;

use contracts::OrderId;
use order_service::app::Cause;
use order_service::domain::{Command, OrderStatus};
use order_service::store::event_store;
use test_support::TestDatabase;
use uuid::Uuid;

use crate::support::{settings, start};

#[tokio::test]
async fn two_concurrent_writers_one_conflicts_is_retried_and_both_effects_are_kept()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_conflict").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let order: OrderId = app.create_order().await?.parse()?;
    let service = app.service(Duration::from_secs(30));
    let cause = Cause {
        causation_id: Some(Uuid::now_v7()),
        trace: Default::default(),
    };

    // Writer one appends version 2 and holds its transaction open.
    let mut first = service.pool.begin().await?;
    let payment = Command::RecordPayment {
        payment_id: Uuid::now_v7(),
        amount_cents: 2598,
    };
    service
        .execute(&mut first, order, payment, &cause)
        .await??;

    // Writer two loaded version 1 too and wants version 2: it waits on writer one.
    let second = tokio::spawn({
        let service = service.clone();
        let cause = cause.clone();
        async move {
            service
                .run(order, Command::RecordStockReserved, &cause)
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !second.is_finished(),
        "the second writer should be blocked on the first's version"
    );
    first.commit().await?;

    let executed = second.await???;
    assert_eq!(
        executed.appended, 1,
        "the retry decided on the new state and appended"
    );
    let mut conn = app.pool.acquire().await?;
    let loaded = event_store::load(&mut conn, order).await?.unwrap().order;
    assert_eq!(loaded.version, 3);
    assert_eq!(loaded.status, OrderStatus::Confirmed, "writer two's effect");
    assert!(loaded.payment.is_some(), "writer one's effect");
    drop(conn);
    app.stop().await?;
    database.drop_database().await
}
