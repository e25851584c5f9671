//! Slow clients (issue 15 item 8): connections that drip a request head
//! are closed after the header read timeout, idle kept-alive connections
//! after the keep-alive timeout, and the connection cap holds; meanwhile
//! `/healthz` and real requests keep answering. Real TCP on 127.0.0.1.

mod common;

use std::time::{Duration, Instant};

use common::{harness, Backend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Slow connections opened at once.
const SLOW: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_slow_connections_are_closed_while_requests_answer() {
    let h = harness(Backend::Sqlite, |c| {
        c.server.header_read_timeout_ms = 1_000;
        c.server.keep_alive_idle_ms = 2_000;
    })
    .await
    .unwrap();
    let addr = h.server.addr;
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..SLOW {
        let stream = TcpStream::connect(addr).await.unwrap();
        let opened = Instant::now();
        let closed_tx = closed_tx.clone();
        tokio::spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            let drip = tokio::spawn(async move {
                let _ = writer
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: motp\r\n")
                    .await;
                // A header line every 200 ms, never the blank line.
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if writer.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        return;
                    }
                }
            });
            let mut buf = [0u8; 1024];
            // EOF or a reset: the server closed the connection.
            while let Ok(n) = reader.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            drip.abort();
            let _ = closed_tx.send(opened.elapsed());
        });
    }
    drop(closed_tx);

    // Real requests keep answering while the slow ones are held open.
    let started = Instant::now();
    let mut n = 0u32;
    while started.elapsed() < Duration::from_millis(2_500) {
        let t = Instant::now();
        let health = h
            .http
            .get(h.url("/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .expect("/healthz answers");
        assert_eq!(health.status(), 200);
        h.create_ok(&format!("+4474005{n:05}")).await;
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("{n} health checks and creates answered beside {SLOW} slow connections");

    let mut lifetimes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lifetimes.len() < SLOW {
        match tokio::time::timeout_at(deadline, closed_rx.recv()).await {
            Ok(Some(lived)) => lifetimes.push(lived),
            _ => break,
        }
    }
    assert_eq!(lifetimes.len(), SLOW, "slow connections left open");
    let shortest = lifetimes.iter().min().unwrap();
    let longest = lifetimes.iter().max().unwrap();
    println!("slow connections closed after {shortest:?} .. {longest:?}");
    assert!(*shortest >= Duration::from_millis(900), "{shortest:?}");
    assert!(*longest < Duration::from_secs(6), "{longest:?}");
    h.stop().await;
}

/// Sends one request on `stream` and reads its whole answer; the status.
async fn round_trip(stream: &mut TcpStream) -> u16 {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: motp\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed while a request was answered");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text[9..12].parse().unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_keep_alive_connections_stay_and_idle_ones_close() {
    let h = harness(Backend::Sqlite, |c| {
        c.server.header_read_timeout_ms = 500;
        c.server.keep_alive_idle_ms = 1_500;
    })
    .await
    .unwrap();
    let mut stream = TcpStream::connect(h.server.addr).await.unwrap();
    // Requests every 300 ms for 2 s: longer than both timeouts in all, but
    // never idle or slow for long, so one connection serves them all.
    let started = Instant::now();
    loop {
        assert_eq!(round_trip(&mut stream).await, 200);
        if started.elapsed() >= Duration::from_secs(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Then idle: closed after the keep-alive timeout, not the header one.
    let idle_from = Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0);
    let idle = idle_from.elapsed();
    println!("idle connection closed after {idle:?}");
    assert!(idle >= Duration::from_millis(1_400), "{idle:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds() {
    let h = harness(Backend::Sqlite, |c| {
        c.server.max_connections = 20;
        c.server.header_read_timeout_ms = 30_000;
        c.server.keep_alive_idle_ms = 30_000;
    })
    .await
    .unwrap();
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(h.server.addr).await.unwrap();
        assert_eq!(round_trip(&mut s).await, 200);
        held.push(s);
    }
    let health = || {
        h.http
            .get(h.url("/healthz"))
            .timeout(Duration::from_millis(700))
            .send()
    };
    assert!(health().await.is_err(), "a 21st connection was served");
    held.pop();
    let mut answered = false;
    for _ in 0..10 {
        if let Ok(r) = health().await {
            assert_eq!(r.status(), 200);
            answered = true;
            break;
        }
    }
    assert!(answered, "a freed slot was not reused");
    drop(held);
    h.stop().await;
}
