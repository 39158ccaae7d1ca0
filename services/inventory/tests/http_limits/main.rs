//! The HTTP limits of a service, on a real instance over raw TCP: a client that sends
//! its request head slowly, or nothing, is cut; requests beyond the in-flight bound are
//! answered 503 with `Retry-After` at once; a request past its deadline is answered 503.

use std::net::SocketAddr;
use std::time::Duration;

use service_kit::Shutdown;
use test_support::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Instance {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    database: TestDatabase,
}

async fn start(label: &str, max_in_flight: usize) -> anyhow::Result<Instance> {
    let group = test_support::unique_name("inventory-http");
    let kafka = test_support::isolated_kafka(label, &[&group]).await?;
    let database = TestDatabase::create(label).await?;
    let config = service_kit::ServiceConfig {
        http_header_read_timeout: Duration::from_secs(1),
        http_max_in_flight: max_in_flight,
        http_request_timeout: Duration::from_secs(3),
        ..test_support::service_config(&kafka, &database.url, &group)
    }
    .resolve(&inventory_service::SPEC);
    let shutdown = Shutdown::new();
    let app = inventory_service::build(config, shutdown.clone()).await?;
    let addr = app.local_addr();
    let task = tokio::spawn(app.run());
    Ok(Instance {
        addr,
        shutdown,
        task,
        database,
    })
}

impl Instance {
    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.task).await???;
        self.database.drop_database().await
    }
}

/// Whether the server closed `stream` (a read sees the end, or a reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // hyper may answer 408 before closing: read on to the end.
            Ok(Ok(_)) => continue,
        }
    }
}

/// A restock whose body never arrives in full: it holds a request slot until its
/// deadline.
async fn stalled_post(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            b"POST /stock/sku-1/restock HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"qu",
        )
        .await?;
    Ok(stream)
}

/// Sends `request` on a new connection and reads the whole response.
async fn exchange(addr: SocketAddr, request: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    response(&mut stream).await
}

/// Reads one whole response (the server closes or sends `Content-Length` bytes).
async fn response(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await??;
        text.extend_from_slice(&buffer[..read]);
        let so_far = String::from_utf8_lossy(&text).into_owned();
        if read == 0 || so_far.ends_with('}') {
            return Ok(so_far);
        }
    }
}

#[tokio::test]
async fn clients_that_send_their_head_slowly_or_nothing_are_cut() -> anyhow::Result<()> {
    let instance = start("http_slow", 1).await?;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(instance.addr).await?;
        stream
            .write_all(b"GET /stock/sku-1 HTTP/1.1\r\nHost: test\r\n")
            .await?;
        slow.push(stream);
    }
    let mut silent = TcpStream::connect(instance.addr).await?;
    for stream in &mut slow {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "a half-sent head still holds its connection"
        );
    }
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "a silent connection is still open"
    );
    // The service still answers everyone else.
    let mut stream = TcpStream::connect(instance.addr).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await?;
    assert!(response(&mut stream).await?.starts_with("HTTP/1.1 200"));
    instance.stop().await
}

#[tokio::test]
async fn requests_beyond_the_bound_get_503_with_retry_after_and_a_stalled_one_times_out()
-> anyhow::Result<()> {
    let instance = start("http_bound", 1).await?;
    // Holds the one request slot: its body never arrives in full.
    let mut holder = stalled_post(instance.addr).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut other = TcpStream::connect(instance.addr).await?;
    other
        .write_all(b"GET /stock/sku-1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await?;
    let shed = response(&mut other).await?;
    assert!(shed.starts_with("HTTP/1.1 503"), "{shed}");
    // Liveness is never shed: a busy instance must not be restarted for it.
    let alive = exchange(
        instance.addr,
        "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await?;
    assert!(alive.starts_with("HTTP/1.1 200"), "{alive}");
    assert!(
        shed.to_ascii_lowercase().contains("retry-after: 1"),
        "{shed}"
    );
    assert!(
        shed.contains(r#""error":"too many requests in progress; retry""#),
        "{shed}"
    );

    let timed_out = response(&mut holder).await?;
    assert!(timed_out.starts_with("HTTP/1.1 503"), "{timed_out}");
    assert!(timed_out.contains("no answer within 3s"), "{timed_out}");
    instance.stop().await
}

#[tokio::test]
async fn reads_are_shed_first_and_the_last_quarter_of_the_slots_is_kept_for_writes()
-> anyhow::Result<()> {
    let instance = start("http_writes_first", 4).await?;
    let mut holders = Vec::new();
    for _ in 0..3 {
        holders.push(stalled_post(instance.addr).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let read = exchange(
        instance.addr,
        "GET /stock/sku-1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await?;
    assert!(read.starts_with("HTTP/1.1 503"), "{read}");
    let body = r#"{"quantity":5}"#;
    let write = exchange(
        instance.addr,
        &format!(
            "POST /stock/sku-1/restock HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await?;
    assert!(
        !write.starts_with("HTTP/1.1 503"),
        "a write found no slot: {write}"
    );
    drop(holders);
    instance.stop().await
}
