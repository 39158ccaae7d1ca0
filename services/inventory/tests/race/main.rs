//! `PaymentCompleted` and `OrderCancelled` for one order, handled at the same moment by
//! two inventory consumers (one per topic, as two replicas can be), 200 times: stock is
//! never left held for a cancelled order. The per-order state row, locked first by
//! every handler, is what serialises them.

use std::sync::Arc;
use std::time::Duration;

use contracts::events::{OrderCancelled, PaymentCompleted, TopicEvent};
use contracts::{
    CancelReason, Currency, EventMetadata, LineItem, OrderEvent, OrderId, PaymentEvent,
};
use inventory_service::handlers::InventoryHandler;
use messaging::EventProducer;
use messaging::consumer::{ConsumerConfig, ConsumerRuntime};
use messaging::headers::event_headers;
use outbox::Wakeup;
use sqlx::postgres::PgPoolOptions;
use test_support::TestDatabase;
use tokio::sync::watch;
use uuid::Uuid;

const ORDERS: usize = 200;

async fn send<E: TopicEvent>(
    producer: &EventProducer,
    kafka: &messaging::KafkaConfig,
    event: &E,
    correlation: Uuid,
) -> anyhow::Result<()> {
    let metadata = EventMetadata::new(
        event.event_type(),
        "race-test",
        chrono::Utc::now(),
        correlation,
        correlation,
    );
    let headers = event_headers(&metadata, &opentelemetry::Context::new());
    let key = event.order_id().to_string();
    producer
        .send_raw(
            &kafka.topic(E::TOPIC),
            key.as_bytes(),
            &event.encode(),
            headers,
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_and_cancellation_at_the_same_moment_never_leave_stock_held() -> anyhow::Result<()>
{
    let on_payments = test_support::unique_name("inventory-payments");
    let on_orders = test_support::unique_name("inventory-orders");
    let kafka = test_support::isolated_kafka("inventory_race", &[&on_payments, &on_orders]).await?;
    let database = TestDatabase::create("inventory_race").await?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&database.url)
        .await?;
    messaging::schema::migrator().run(&pool).await?;
    inventory_service::migrator().run(&pool).await?;
    let producer = EventProducer::new(&kafka)?;

    // Two consumers of one inventory database: one reads payment-events, the other
    // order-events, so the two events of an order are handled concurrently.
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for (group, topic) in [
        (&on_payments, contracts::topics::PAYMENT_EVENTS),
        (&on_orders, contracts::topics::ORDER_EVENTS),
    ] {
        let handler = Arc::new(InventoryHandler {
            wakeup: Wakeup::new(),
            service_name: group.clone(),
        });
        let runtime = ConsumerRuntime::new(
            &kafka,
            ConsumerConfig::new(group.clone(), &[topic]),
            handler,
            pool.clone(),
            producer.clone(),
        )?;
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(runtime.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })));
    }

    let before: i64 = sqlx::query_scalar("SELECT available FROM stock WHERE sku = 'sku-widget'")
        .fetch_one(&pool)
        .await?;
    let mut orders = Vec::with_capacity(ORDERS);
    for _ in 0..ORDERS {
        let order_id = OrderId::new();
        let correlation = Uuid::now_v7();
        let paid = PaymentEvent::Completed(PaymentCompleted {
            order_id,
            payment_id: Uuid::now_v7(),
            customer_id: "c-rich".into(),
            amount_cents: 100,
            currency: Currency::Eur,
            items: vec![LineItem {
                sku: "sku-widget".into(),
                quantity: 1,
                unit_price_cents: 100,
            }],
        });
        let cancelled = OrderEvent::Cancelled(OrderCancelled {
            order_id,
            reason: CancelReason::Customer,
        });
        let (a, b) = tokio::join!(
            send(&producer, &kafka, &paid, correlation),
            send(&producer, &kafka, &cancelled, correlation)
        );
        a?;
        b?;
        orders.push(order_id);
    }

    // Both events of every order handled: each reservation ends released or remembered
    // as cancelled before any reservation.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM order_reservations WHERE status NOT IN ('released', 'cancelled_before_reserve')",
        )
        .fetch_one(&pool)
        .await?;
        let settled: i64 = sqlx::query_scalar("SELECT count(*) FROM order_reservations")
            .fetch_one(&pool)
            .await?;
        let handled: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_messages")
            .fetch_one(&pool)
            .await?;
        if settled == ORDERS as i64 && handled == 2 * ORDERS as i64 {
            assert_eq!(open, 0, "an order's stock is held after its cancellation");
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {handled} of {} events handled",
            2 * ORDERS
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (available, reserved): (i64, i64) =
        sqlx::query_as("SELECT available, reserved FROM stock WHERE sku = 'sku-widget'")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        (available, reserved),
        (before, 0),
        "every reserved unit was released"
    );
    let both: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM order_reservations GROUP BY status ORDER BY status",
    )
    .fetch_all(&pool)
    .await?;
    eprintln!("race: {ORDERS} orders, reservations ended {both:?}");
    // Every cancellation was answered with a release, once.
    let releases: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_type = 'stock.released.v1'")
            .fetch_one(&pool)
            .await?;
    assert_eq!(releases, ORDERS as i64);

    stop.send(true)?;
    for task in tasks {
        task.await??;
    }
    pool.close().await;
    database.drop_database().await
}
