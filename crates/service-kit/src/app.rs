//! Start-up in one place. `App::build` waits for PostgreSQL, migrates, connects to Kafka
//! and binds the HTTP listener; the service adds its routes and tasks; `App::run` serves
//! until shutdown, then gives the tasks a deadline to finish the work in hand.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use messaging::probe::KafkaProbe;
use messaging::{EventProducer, KafkaConfig};
use outbox::{Relay, Wakeup};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::config::Resolved;
use crate::health::{self, HealthState};
use crate::retention::Retention;
use crate::{Shutdown, database, monitor};

/// How long tasks get to finish after shutdown before they are dropped.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// What distinguishes one service from another at start-up.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// `order-service`, ...
    pub name: &'static str,
    /// Its own database: `orders`, ...
    pub database: &'static str,
    pub http_port: u16,
    /// Migrators applied in order at start-up (the messaging core's, then the service's).
    pub migrations: &'static [fn() -> Migrator],
    /// The OpenAPI document of the service's own routes (title, version, description
    /// and paths); [`crate::http::openapi::document`] adds what every service serves.
    pub api: fn() -> utoipa::openapi::OpenApi,
}

/// The connections a service's routes and tasks are built from.
#[derive(Debug, Clone)]
pub struct AppParts {
    pub service_name: String,
    /// The consumer group (the service name unless `KAFKA_GROUP_ID` says otherwise).
    pub consumer_group: String,
    /// Static membership (`KAFKA_GROUP_INSTANCE_ID`), when set.
    pub consumer_instance_id: Option<String>,
    /// When a consumer with messages waiting and none handled counts as stuck.
    pub consumer_stuck_after: Duration,
    /// The longest a consumer's transaction is awaited (`DATABASE_CLIENT_DEADLINE`).
    pub transaction_deadline: Duration,
    /// The pool of HTTP requests.
    pub pool: PgPool,
    /// The pool of the sagas (consumers, timers, housekeeping): a flood of requests
    /// cannot take its connections.
    pub saga_pool: PgPool,
    pub kafka: KafkaConfig,
    pub producer: EventProducer,
    /// Nudges this service's outbox relay; call after a transaction that enqueued.
    pub wakeup: Wakeup,
    pub shutdown: Shutdown,
    /// What `/readyz` reads of the consumers.
    pub consumers: health::Consumers,
    /// How long state rows of orders this service never acted on are kept; a service
    /// adds the rule for its state table with [`App::retain`].
    pub state_row_retention: Duration,
}

/// A service, connected and bound, not yet serving.
#[derive(Debug)]
pub struct App {
    parts: AppParts,
    http_limits: crate::http::HttpLimits,
    http_threads: crate::http::ApiThreads,
    /// Who may call the API (`None`: auth off).
    authenticator: crate::http::Authenticator,
    /// HTTPS when set.
    tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
    /// The tables' retention rules, run by the monitor.
    retention: Vec<Retention>,
    listener: TcpListener,
    routes: Router,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl App {
    /// Connects, migrates and binds. Call inside a runtime, after `telemetry::init`.
    pub async fn build(
        spec: &ServiceSpec,
        config: &Resolved,
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        let pool = database::connect(
            config.database_url.as_str(),
            config.database_max_connections,
            &config.database_session,
            &format!("{} requests", config.service_name),
            &shutdown,
        )
        .await
        .context("connecting to PostgreSQL")?;
        let saga_pool = database::connect(
            config.database_url.as_str(),
            config.database_saga_connections,
            &config.database_session,
            &format!("{} sagas", config.service_name),
            &shutdown,
        )
        .await
        .context("connecting to PostgreSQL")?;
        for migrator in spec.migrations {
            database::migrate(&pool, &migrator()).await?;
        }
        let settings =
            messaging::ClientSettings::from_env().context("reading the Kafka client settings")?;
        if !settings.is_empty() {
            tracing::info!(%settings, "Kafka client settings passed through.");
        }
        for downgrade in settings.tls_downgrades() {
            tracing::warn!(%downgrade, "The broker's certificate is not checked.");
        }
        let kafka = KafkaConfig::new(config.kafka_bootstrap_servers.clone())
            .with_topic_prefix(config.kafka_topic_prefix.clone())
            .with_settings(settings);
        let producer = EventProducer::new(&kafka).context("creating the Kafka producer")?;
        let probe = KafkaProbe::new(&kafka).context("creating the Kafka probe")?;
        let authenticator = match &config.auth {
            Some((files, audience)) => {
                let verifier = crate::auth::Verifier::from_pem_files(files, audience)
                    .context("reading the token keys (AUTH_PUBLIC_KEY_FILES)")?;
                tracing::info!(keys = files.len(), %audience, "HTTP auth is on: bearer tokens.");
                if config.http_tls.is_none() {
                    tracing::warn!(
                        "HTTP auth is on without TLS: tokens travel in clear (HTTP_TLS_CERT_FILE)."
                    );
                }
                Some(std::sync::Arc::new(verifier))
            }
            None => {
                tracing::warn!(
                    "HTTP auth is off: every request may do everything (docs/security.md)."
                );
                None
            }
        };
        let tls = config
            .http_tls
            .as_ref()
            .map(crate::http::tls::server_config)
            .transpose()?;
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding {}", config.http_addr))?;

        // The recorder must exist before the first metric is recorded.
        let metrics = health::metrics_handle();
        metrics::gauge!("saga_build_info", "service" => config.service_name.clone(), "version" => env!("CARGO_PKG_VERSION"))
            .set(1.0);
        let consumers = health::Consumers::default();
        let routes = Router::from(health::routes().with_state(HealthState {
            pool: saga_pool.clone(),
            kafka: probe,
            metrics,
            consumers: consumers.clone(),
        }))
        .merge(crate::http::openapi::router(
            &crate::http::openapi::document(spec),
        ));
        let parts = AppParts {
            service_name: config.service_name.clone(),
            consumer_group: config.consumer_group.clone(),
            consumer_instance_id: config.consumer_instance_id.clone(),
            consumer_stuck_after: config.consumer_stuck_after,
            transaction_deadline: config.database_session.client_deadline,
            pool,
            saga_pool,
            kafka,
            producer,
            wakeup: Wakeup::new(),
            shutdown,
            consumers,
            state_row_retention: config.state_row_retention,
        };
        let mut tasks = JoinSet::new();
        let relay = Relay::new(
            config.database_url.as_str(),
            parts.producer.clone(),
            parts.wakeup.clone(),
            config.relay.clone(),
        );
        let stop = parts.shutdown.clone();
        tasks.spawn(async move {
            relay.run(async move { stop.wait().await }).await;
            Ok(())
        });
        Ok(Self {
            parts,
            http_limits: config.http_limits,
            http_threads: config.http_threads,
            authenticator,
            tls,
            retention: vec![
                Retention::published_outbox(config.outbox_retention),
                Retention::inbox(config.inbox_retention),
            ],
            listener,
            routes,
            tasks,
        })
    }

    pub fn parts(&self) -> &AppParts {
        &self.parts
    }

    /// The bound address (tests bind port 0 and ask).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Adds the service's own routes.
    pub fn with_routes(mut self, routes: Router) -> Self {
        self.routes = self.routes.merge(routes);
        self
    }

    /// Consumes `topics` (and the service's `.retry`) with `handler`, as the service's
    /// consumer group, until shutdown. `/readyz` reports its health; a consumer that
    /// fails for good stops the service with an error, so that it exits non-zero.
    pub fn consume<H: messaging::consumer::Handler>(
        &mut self,
        topics: &[&str],
        handler: std::sync::Arc<H>,
    ) -> anyhow::Result<messaging::consumer::ConsumerHealth> {
        let parts = &self.parts;
        let consumer = messaging::consumer::ConsumerRuntime::new(
            &parts.kafka,
            messaging::consumer::ConsumerConfig {
                instance_id: parts.consumer_instance_id.clone(),
                stuck_after: parts.consumer_stuck_after,
                transaction_deadline: parts.transaction_deadline,
                ..messaging::consumer::ConsumerConfig::new(parts.consumer_group.clone(), topics)
            },
            handler,
            parts.saga_pool.clone(),
            parts.producer.clone(),
        )
        .context("creating the Kafka consumer")?;
        let health = consumer.health();
        parts.consumers.register(health.clone());
        let stop = parts.shutdown.clone();
        self.spawn(async move {
            consumer.run(async move { stop.wait().await }).await?;
            Ok(())
        });
        Ok(health)
    }

    /// Adds a table's retention rule to the ones the monitor runs.
    pub fn retain(&mut self, rule: Retention) {
        self.retention.push(rule);
    }

    /// Runs a background task until it returns; it must watch `parts().shutdown`.
    pub fn spawn(&mut self, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Serves until shutdown, then waits for the tasks up to a deadline. A task that
    /// fails triggers shutdown of the rest: a half-running service is worse than none.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let shutdown = self.parts.shutdown.clone();
        self.tasks.spawn(monitor::run(
            self.parts.saga_pool.clone(),
            self.parts.kafka.clone(),
            self.parts.consumer_group.clone(),
            std::mem::take(&mut self.retention),
            shutdown.clone(),
        ));
        let addr = self.local_addr();
        tracing::info!(service = %self.parts.service_name, %addr, "Serving HTTP.");
        let routes = self
            .routes
            .fallback(crate::http::no_route)
            .method_not_allowed_fallback(crate::http::wrong_method);
        let routes = routes.layer(axum::middleware::from_fn_with_state(
            self.authenticator.clone(),
            crate::http::authenticate,
        ));
        let routes = crate::http::limited(routes, self.http_limits)
            .layer(axum::middleware::from_fn(crate::http::trace_requests));
        // The API runs on its own threads (crate::http::runtime says why), its listener
        // registered with that runtime's reactor, not this one's.
        let api =
            crate::http::api_runtime(self.http_threads).context("starting the API's runtime")?;
        let listener = self
            .listener
            .into_std()
            .context("detaching the HTTP listener")?;
        let limits = self.http_limits;
        let tls = self.tls.clone();
        let stop = shutdown.clone();
        let mut server = api.spawn(async move {
            let listener =
                TcpListener::from_std(listener).context("registering the HTTP listener")?;
            crate::http::serve(
                listener,
                routes,
                limits,
                tls,
                async move { stop.wait().await },
            )
            .await;
            anyhow::Ok(())
        });

        let mut failure = None;
        loop {
            tokio::select! {
                served = &mut server => {
                    shutdown.trigger();
                    served.context("HTTP server task")??;
                    break;
                }
                Some(done) = self.tasks.join_next() => {
                    if let Err(err) = flatten(done) {
                        tracing::error!(error = format!("{err:#}"), "A background task failed; shutting down.");
                        failure.get_or_insert(err);
                        shutdown.trigger();
                    }
                }
            }
        }

        let drained = tokio::time::timeout(SHUTDOWN_DEADLINE, async {
            while let Some(done) = self.tasks.join_next().await {
                if let Err(err) = flatten(done) {
                    tracing::error!(
                        error = format!("{err:#}"),
                        "A background task failed while stopping."
                    );
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                deadline_s = SHUTDOWN_DEADLINE.as_secs(),
                "Tasks did not stop in time; dropping them."
            );
            self.tasks.abort_all();
        }
        if let Err(err) = self.parts.producer.flush(Duration::from_secs(5)) {
            tracing::warn!(error = %err, "Flushing the Kafka producer timed out.");
        }
        // Its connections are closed; dropping a runtime in async code would panic.
        api.shutdown_background();
        self.parts.pool.close().await;
        self.parts.saga_pool.close().await;
        tracing::info!(service = %self.parts.service_name, "Stopped.");
        failure.map_or(Ok(()), Err)
    }
}

fn flatten(done: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    done.context("background task panicked or was cancelled")?
}
