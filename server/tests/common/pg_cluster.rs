//! A PostgreSQL cluster of a test's own (initdb in a temp directory, on
//! 127.0.0.1 and a free port), for tests that stop and start the database:
//! stopping the shared cluster of `scripts/test.d/20-postgres.sh` would break
//! the tests running beside them. Needs Debian's postgresql package; runs
//! the server binaries as `postgres` when the tests run as root.

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PgCluster {
    /// initdb + start + createdb; `None` (after saying why) without the
    /// PostgreSQL binaries.
    pub fn start() -> Option<Self> {
        let Some(bin) = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|dirs| {
                let mut bins: Vec<PathBuf> = dirs
                    .filter_map(|d| d.ok().map(|d| d.path().join("bin")))
                    .filter(|b| b.join("initdb").exists())
                    .collect();
                bins.sort();
                bins.pop()
            })
        else {
            println!("skipped: no /usr/lib/postgresql/*/bin/initdb");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self { bin, dir, port };
        let path = cluster.dir.path().to_str().unwrap().to_string();
        run(Command::new("chmod").args(["755", &path]));
        if is_root() {
            run(Command::new("chown").args(["postgres:", &path]));
        }
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        cluster.pg_ctl_start();
        cluster.pg(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "motp_outage",
            ],
        );
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/motp_outage", self.port)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_string()
    }

    /// Stops the server at once (`immediate`: like a crash or a lost host).
    pub fn stop(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    pub fn pg_ctl_start(&self) {
        let log = self.dir.path().join("server.log");
        let opts = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "-o",
                &opts,
                "start",
            ],
        );
    }

    fn pg(&self, tool: &str, args: &[&str]) -> Output {
        run(&mut self.command(tool, args))
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args);
        cmd
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // No assertion here: this may run while a failed test unwinds.
        let data = self.data();
        let _ = self
            .command("pg_ctl", &["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    std::env::var("USER").as_deref() == Ok("root")
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
