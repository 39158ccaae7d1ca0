//! The one function that builds the process's telemetry: a `tracing` subscriber with
//! an env filter and JSON or pretty logs, bridged to OpenTelemetry and exported over
//! OTLP/gRPC, with the W3C TraceContext and Baggage propagators installed globally.
//!
//! Invariant: spans are exported by a batch processor sized for load, and
//! [`TelemetryGuard::shutdown`] flushes what is queued before the process exits.
//!
//! - `db`: database spans after OpenTelemetry's conventions ([`db_span!`]), which sqlx
//!   does not emit itself.

use std::io::IsTerminal;
use std::time::Duration;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

mod db;

pub use db::{DB_TARGET, db_namespace, set_db_namespace};
#[doc(hidden)]
pub use tracing as __tracing;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line, for machines.
    Json,
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!("unknown log format {other:?} (json | pretty)")),
        }
    }
}

/// What [`init`] needs to know.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `OTEL_SERVICE_NAME`: the name spans and logs carry.
    pub service_name: String,
    /// OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`; `None` exports nothing.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: the CA (PEM) that signed an `https` endpoint's
    /// certificate; unset, the Web PKI's roots.
    pub otlp_certificate: Option<std::path::PathBuf>,
    /// Fraction of new traces sampled at the root (1.0 = all). Child spans follow their
    /// parent's decision, so a saga is either traced whole or not at all.
    pub sampling_ratio: f64,
    pub log_format: LogFormat,
    /// Filter used when `RUST_LOG` is not set.
    pub default_filter: String,
}

impl TelemetryConfig {
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            otlp_endpoint: None,
            otlp_certificate: None,
            sampling_ratio: 1.0,
            log_format: LogFormat::default(),
            default_filter: "info".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot read the OTLP endpoint's CA {path}: {source}")]
    Certificate {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("a global subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the exporter alive; call [`TelemetryGuard::shutdown`] before exit to flush.
#[derive(Debug)]
#[must_use = "dropping the guard without shutdown() may lose the last spans"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes queued spans and stops the exporter. Blocking: call it from
    /// `spawn_blocking` or after the runtime's work is done.
    pub fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(err) = provider.force_flush() {
                eprintln!("telemetry: flushing spans failed: {err}");
            }
            if let Err(err) = provider.shutdown() {
                eprintln!("telemetry: shutting the exporter down failed: {err}");
            }
        }
    }
}

/// Spans the batch processor holds before it drops: sized so a burst of sagas at load
/// (fifty to ninety spans a saga over the three services, database spans included) is
/// exported rather than lost.
const MAX_QUEUED_SPANS: usize = 65_536;
const MAX_EXPORT_BATCH: usize = 2_048;
const EXPORT_DELAY: Duration = Duration::from_millis(500);

/// Installs the global subscriber, tracer provider and propagators. Call once, inside a
/// Tokio runtime (the gRPC exporter runs on it).
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    install_propagators();

    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::try_new(&config.default_filter)?,
    };
    // A JSON line carries the span it is logged in (`span`) and every span around it,
    // outermost first (`spans`): a line logged in a database or command span still
    // names the trace and saga of the message or request around it.
    let logs = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let provider = match &config.otlp_endpoint {
        Some(endpoint) => Some(tracer_provider(config, endpoint)?),
        None => None,
    };
    let otel = provider.as_ref().map(|provider| {
        let tracer = provider.tracer(config.service_name.clone());
        // No tracing-internal attributes on the spans: busy/idle times, threads, source
        // locations and targets say nothing to a person reading a saga.
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
    });
    if let Some(provider) = &provider {
        global::set_tracer_provider(provider.clone());
    }

    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

/// Records the span's trace id in its `trace_id` field (declared `Empty` by the span),
/// so that every log line inside it names its trace: JSON logs carry the current
/// span's fields, pretty logs the fields of every span around them. Call it once the
/// span's parent is set. Nothing is recorded when the span is not sampled.
pub fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }
}

/// W3C TraceContext and Baggage, the propagators every hop of the saga speaks.
/// [`init`] installs them; tools and tests that do not call `init` call this.
pub fn install_propagators() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

fn tracer_provider(
    config: &TelemetryConfig,
    endpoint: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::WithTonicConfig as _;
    use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig};

    let mut exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5));
    if endpoint.starts_with("https://") {
        let tls = match &config.otlp_certificate {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| TelemetryError::Certificate {
                    path: path.clone(),
                    source,
                })?;
                ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
            }
            None => ClientTlsConfig::new().with_webpki_roots(),
        };
        exporter = exporter.with_tls_config(tls);
    }
    let exporter = exporter.build()?;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUED_SPANS)
        .with_max_export_batch_size(MAX_EXPORT_BATCH)
        .with_scheduled_delay(EXPORT_DELAY)
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampling_ratio)));
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler)
        .with_resource(resource(config))
        .build())
}

/// Who emits the spans: the service, its version, this process (`service.instance.id`,
/// `process.pid`) and its host (`host.name`). Jaeger's query API, the one its UI
/// reads, judges clock skew between two spans only by their process tag `ip`, and warns
/// on every consumer span that starts after its producer's span ended (normal for
/// messaging) when the two have no `ip` in common. So `ip` names the clock the
/// process reads: its host. Services that share a kernel clock on several host names
/// (compose's containers) set `OTEL_RESOURCE_ATTRIBUTES=ip=<one name>`, which is read
/// last and wins. The SDK's process detector is not used: it records the command line,
/// which may carry a secret.
fn resource(config: &TelemetryConfig) -> Resource {
    use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};
    let host = host_name();
    Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", instance_id()),
            KeyValue::new("process.pid", i64::from(std::process::id())),
            KeyValue::new("host.name", host.clone()),
            KeyValue::new("ip", host),
        ])
        .with_detectors(&[
            Box::new(TelemetryResourceDetector),
            Box::new(EnvResourceDetector::new()),
        ])
        .build()
}

/// The kernel's host name (a container's is its id), or `HOSTNAME`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// Unique per process start: the pid and the start time in nanoseconds.
fn instance_id() -> String {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{started:x}", std::process::id())
}
