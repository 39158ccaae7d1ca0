//! "Does the broker answer?" for readiness checks.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

use crate::KafkaConfig;

/// A long-lived client that asks the cluster for its metadata on demand. Reusing one
/// client keeps its broker connections warm, so a probe costs one round trip.
#[derive(Clone)]
pub struct KafkaProbe {
    client: Arc<BaseConsumer>,
}

impl std::fmt::Debug for KafkaProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaProbe").finish_non_exhaustive()
    }
}

impl KafkaProbe {
    pub fn new(kafka: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            client: Arc::new(kafka.client().create()?),
        })
    }

    /// Ok when a broker answered a metadata request within `timeout`.
    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        let client = Arc::clone(&self.client);
        let answered = tokio::task::spawn_blocking(move || client.fetch_metadata(None, timeout))
            .await
            .map_err(|e| e.to_string())?;
        match answered {
            Ok(metadata) if !metadata.brokers().is_empty() => Ok(()),
            Ok(_) => Err("no broker in the metadata".to_owned()),
            Err(err) => Err(err.to_string()),
        }
    }
}
