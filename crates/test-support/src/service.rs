//! A service's configuration for a test, in one place: a new setting is added here,
//! not in every suite that starts a service.

use std::net::SocketAddr;

use messaging::KafkaConfig;
use service_kit::ServiceConfig;

/// `kafka`'s brokers and topic prefix, `database_url`, `name` as service name and
/// consumer group, an ephemeral port on loopback, no span export. Change a field with
/// struct update syntax.
pub fn service_config(kafka: &KafkaConfig, database_url: &str, name: &str) -> ServiceConfig {
    ServiceConfig {
        kafka_bootstrap_servers: kafka.bootstrap_servers.clone(),
        kafka_topic_prefix: kafka.topic_prefix.clone(),
        database_url: Some(messaging::session::DatabaseUrl::new(database_url)),
        database_password_file: None,
        database_max_connections: 8,
        database_saga_connections: 4,
        database_statement_timeout: std::time::Duration::from_secs(10),
        database_lock_timeout: std::time::Duration::from_secs(5),
        database_client_deadline: std::time::Duration::from_secs(30),
        http_max_in_flight: 32,
        http_max_connections: 1024,
        http_request_timeout: std::time::Duration::from_secs(10),
        http_header_read_timeout: std::time::Duration::from_secs(5),
        http_threads: 1,
        http_thread_nice: 10,
        auth_public_key_files: Vec::new(),
        auth_audience: "saga".to_owned(),
        http_tls_cert_file: None,
        http_tls_key_file: None,
        otlp_endpoint: "none".to_owned(),
        otlp_certificate: None,
        service_name: Some(name.to_owned()),
        kafka_group_id: None,
        kafka_group_instance_id: None,
        trace_sampling_ratio: 1.0,
        http_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        outbox_batch_size: 1000,
        outbox_retention_hours: 24,
        inbox_retention: std::time::Duration::from_secs(7 * 86_400),
        state_row_retention: std::time::Duration::from_secs(7 * 86_400),
        outbox_publish_twice: false,
        consumer_stuck_after: std::time::Duration::from_secs(60),
        log_format: telemetry::LogFormat::Pretty,
        openapi: false,
    }
}
