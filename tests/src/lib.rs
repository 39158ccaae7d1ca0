//! Shared by the suites of this crate: polling helpers for eventually-true outcomes,
//! and the message audit.

pub mod audit;

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `probe` every `every` until it yields `Some`, or fails after `within`.
pub async fn eventually<T, F, Fut>(
    within: Duration,
    every: Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    loop {
        let last = probe().await;
        match last {
            Ok(Some(value)) => return Ok(value),
            Ok(None) | Err(_) if Instant::now() < deadline => tokio::time::sleep(every).await,
            Ok(None) => anyhow::bail!("not true within {within:?}"),
            Err(err) => return Err(err.context(format!("still failing after {within:?}"))),
        }
    }
}
