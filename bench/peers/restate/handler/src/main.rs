//! `saga-peer-restate`: the order saga of this project as Restate handlers (the contract
//! is `bench/peers/README.md`, the peer `bench/peers/restate/README.md`). Three Virtual
//! Objects: `order` (keyed by order id) runs the saga, `account` (keyed by customer) and
//! `stock` (keyed by SKU) hold the balances and stock it charges and reserves.

mod ledger;
mod order;

use restate_sdk::prelude::*;
use tokio::net::TcpSocket;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() {
    let addr =
        std::env::var("SAGA_PEER_RESTATE_BIND").unwrap_or_else(|_| "127.0.0.1:9180".to_owned());
    let listener = listen(&addr).unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    eprintln!("saga-peer-restate: serving the order, account and stock objects on {addr}");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    // HttpServer::serve stops on SIGINT only; stop_pid sends SIGTERM.
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    HttpServer::new(
        Endpoint::builder()
            .bind(order::Order)
            .bind(ledger::Account)
            .bind(ledger::Stock)
            .build(),
    )
    .serve_with_cancel(listener, stop)
    .await;
}

/// A listener whose connections have TCP_NODELAY (Linux hands it on to accepted sockets).
/// The SDK's `HttpServer` leaves Nagle on, so a reply's small HTTP/2 frames could wait
/// for restate-server's delayed ACK (40 ms).
fn listen(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let addr: std::net::SocketAddr = addr.parse().map_err(std::io::Error::other)?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
