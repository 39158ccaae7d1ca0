//! What every saga service shares at its edges.
//!
//! - [`config`]: the environment variables of DESIGN.md §7, with per-service defaults.
//! - [`database`]: connecting to PostgreSQL (waiting for it) and migrating.
//! - [`http`]: the JSON error shape, strict JSON bodies, the OpenAPI document generated
//!   from the routes, and the request span.
//! - [`health`]: `/healthz`, `/readyz` (Kafka and PostgreSQL both answer) and `/metrics`.
//! - [`monitor`]: outbox and DLQ gauges, inbox pruning.
//! - [`shutdown`]: one shutdown signal from SIGINT and SIGTERM, shared by every task.
//! - [`app`]: start-up in one place: `build` connects and binds, `run` serves until shutdown.
//! - [`main_loop`]: the body of every `main`: telemetry, signals, build, serve, flush.
//!
//! A service adds its own routes and background tasks; nothing here knows the domain.

pub mod app;
pub mod auth;
pub mod config;
pub mod database;
pub mod health;
pub mod http;
pub mod main_loop;
pub mod monitor;
pub mod retention;
pub mod shutdown;

pub use app::{App, AppParts, ServiceSpec};
pub use config::ServiceConfig;
pub use shutdown::Shutdown;
