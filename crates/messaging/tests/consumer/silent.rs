//! A consumer whose connection silently stops answering in the middle of a transaction
//! (its packets dropped, no FIN, no RST) gives the transaction up after its deadline,
//! pauses as for an outage, and handles the message on a new connection once the
//! server has ended the old session and freed its locks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use contracts::OrderId;
use messaging::consumer::{ConsumerConfig, Envelope, Handler, Outcome};
use messaging::error::HandlerError;
use messaging::session::SessionLimits;
use sqlx::PgConnection;
use sqlx::postgres::PgPoolOptions;
use test_support::blackhole::{Blackhole, client_ports};
use tokio::sync::Notify;

use crate::support::{Fixture, until};

const APPLICATION: &str = "silent consumer";

/// Writes an effect; the first time, it first tells the test it is inside the
/// transaction and waits a moment, so the test can silence the connection under it.
#[derive(Debug, Default)]
struct PausesOnce {
    paused: AtomicBool,
    inside: Notify,
}

impl Handler for PausesOnce {
    fn handles(&self, name: &str) -> bool {
        name == "order.created"
    }

    fn state_table(&self) -> &'static str {
        "test_state"
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, HandlerError> {
        if !self.paused.swap(true, Ordering::SeqCst) {
            self.inside.notify_one();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        sqlx::query("INSERT INTO test_effects (event_id, order_id) VALUES ($1, $2)")
            .bind(envelope.metadata.event_id)
            .bind(envelope.order_id().0)
            .execute(&mut *tx)
            .await?;
        Ok(Outcome::Applied)
    }
}

#[tokio::test]
async fn a_transaction_whose_connection_goes_silent_is_given_up_and_redone() -> anyhow::Result<()> {
    let fixture = Fixture::new("consumer_silent", 1).await?;
    let limits = SessionLimits {
        statement_timeout: Duration::from_secs(2),
        lock_timeout: Duration::from_secs(1),
        client_deadline: Duration::from_secs(3),
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(limits.connect_options(&fixture.database.url, APPLICATION)?)
        .await?;
    let handler = Arc::new(PausesOnce::default());
    let config = ConsumerConfig {
        transaction_deadline: limits.client_deadline,
        infrastructure_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(2),
        ..fixture.config()
    };
    let running = fixture.start_with_pool(config, handler.clone(), pool)?;
    let order = OrderId::new();
    fixture.send_created(order).await?;

    handler.inside.notified().await;
    let ports = client_ports(&fixture.database.name, APPLICATION).await?;
    let hole = Blackhole::ports(&ports)?;
    let handled = until(60, "the message handled on a new connection", async || {
        Ok(fixture.effects(order).await? == 1)
    })
    .await;
    drop(hole);
    handled?;
    running.stop().await?;
    fixture.finish().await
}
