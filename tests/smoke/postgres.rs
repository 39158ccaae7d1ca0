//! A PostgreSQL round trip through the messaging core's schema.

use sqlx::Row;
use sqlx::postgres::PgPoolOptions;
use test_support::TestDatabase;
use uuid::Uuid;

#[tokio::test]
async fn postgres_round_trips_a_row_in_a_migrated_database() -> anyhow::Result<()> {
    let database = TestDatabase::create("smoke").await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database.url)
        .await?;
    messaging::schema::migrator().run(&pool).await?;

    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&pool)
        .await?;
    eprintln!("postgres: connected to {} ({version})", database.name);

    let event_id = Uuid::now_v7();
    let payload = serde_json::json!({"order_id": Uuid::now_v7(), "hello": "world"});
    sqlx::query(
        "INSERT INTO outbox (topic, key, event_id, event_type, payload) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind("order-events")
    .bind("k")
    .bind(event_id)
    .bind("order.created.v1")
    .bind(&payload)
    .execute(&pool)
    .await?;
    let row = sqlx::query(
        "SELECT payload, published_at IS NULL AS pending FROM outbox WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&pool)
    .await?;
    assert_eq!(row.get::<serde_json::Value, _>("payload"), payload);
    assert!(row.get::<bool, _>("pending"));

    let duplicate = sqlx::query(
        "INSERT INTO outbox (topic, key, event_id, event_type, payload) VALUES ('t', 'k', $1, 'x.y.v1', '{}')",
    )
    .bind(event_id)
    .execute(&pool)
    .await;
    assert!(duplicate.is_err(), "event_id is unique in the outbox");
    eprintln!("postgres: wrote and read back outbox row {event_id}");

    pool.close().await;
    database.drop_database().await
}
