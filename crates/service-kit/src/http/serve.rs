//! The accept loop and the limits on requests, so that no client, slow or many, can
//! starve the sagas. `axum::serve` sets no hyper timer, which leaves hyper's header-read
//! timeout inert: a client that sends half a header holds its connection forever. Here
//! hyper's HTTP/1 builder gets a Tokio timer (slow clients are cut), open connections
//! are bounded (the loop stops accepting at the bound and the kernel's backlog waits),
//! requests in progress are bounded (the excess is answered 503 with `Retry-After` at
//! once, not queued), and every request has a deadline. Reads are shed first: the last
//! quarter of the slots is kept for requests that change something (placing,
//! cancelling, shipping an order), so that a flood of reads cannot lock a customer out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use super::ApiError;

/// How long open connections get to finish their request at shutdown.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// The HTTP limits of one service instance.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Open connections; beyond it the listener stops accepting.
    pub max_connections: usize,
    /// Requests handled at once; beyond it, 503 with `Retry-After`. Reads get at most
    /// three quarters of them.
    pub max_in_flight: usize,
    /// A request's deadline, from its head read to its response.
    pub request_timeout: Duration,
    /// How long a client may take to send a request's head (also an idle keep-alive
    /// connection's limit).
    pub header_read_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_in_flight: 32,
            request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(5),
        }
    }
}

/// Adds the in-flight bound and the deadline to `router`, for every route but
/// [`UNLIMITED`]'s.
pub fn limited(router: Router, limits: HttpLimits) -> Router {
    let slots = Slots {
        free: Arc::new(Semaphore::new(limits.max_in_flight)),
        kept_for_writes: limits.max_in_flight / 4,
        timeout: limits.request_timeout,
    };
    router.layer(axum::middleware::from_fn_with_state(slots, limit))
}

/// The request slots of one instance.
#[derive(Debug, Clone)]
struct Slots {
    free: Arc<Semaphore>,
    /// Slots a read may not take.
    kept_for_writes: usize,
    timeout: Duration,
}

/// Paths that never wait for a slot: liveness and metrics answer from memory, and a
/// liveness probe shed under load would have a healthy, busy instance restarted.
/// (`/readyz` is limited: an overloaded instance is rightly not ready.)
const UNLIMITED: [&str; 2] = ["/healthz", "/metrics"];

async fn limit(State(slots): State<Slots>, request: Request, next: Next) -> Response {
    if UNLIMITED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let slot = if read && slots.free.available_permits() <= slots.kept_for_writes {
        None
    } else {
        slots.free.try_acquire().ok()
    };
    let Some(_slot) = slot else {
        metrics::counter!("http_requests_shed_total", "reason" => "busy").increment(1);
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "too many requests in progress; retry",
        )
        .into_response();
    };
    let timeout = slots.timeout;
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            // Dropping the handler rolls its transaction back: nothing half-done stays.
            metrics::counter!("http_requests_shed_total", "reason" => "timeout").increment(1);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                format!("no answer within {}s; retry", timeout.as_secs()),
            )
            .into_response()
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections
/// finish their request for up to [`DRAIN_DEADLINE`]. With `tls`, HTTPS only; a client
/// gets the header-read timeout for its handshake too.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let tls = tls.map(TlsAcceptor::from);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %err, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        let handshake_deadline = limits.header_read_timeout;
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(tls) => {
                    match tokio::time::timeout(handshake_deadline, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(error = %err, "A TLS handshake failed.");
                            Ok(())
                        }
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(err) = served {
                tracing::debug!(error = %err, "HTTP connection ended with an error.");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open at the drain deadline; closing them.");
    }
}
