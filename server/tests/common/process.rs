//! The real `motp serve` binary as a child process, for the tests that kill
//! it (`kill -9`) and start it again on the same database.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `motp` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_motp");

/// A free TCP port on 127.0.0.1 (bound, read back, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `motp serve`; killed (SIGKILL) and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `motp serve --config config` and waits until `base/healthz`
/// answers (20 s at most). Its logs are appended to `motp.log` beside the
/// config.
pub async fn serve(config: &Path, base: &str, http: &reqwest::Client) -> Server {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_file_name("motp.log"))
        .unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return server;
            }
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("motp serve exited: {status}");
        }
        assert!(Instant::now() < deadline, "motp serve did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
