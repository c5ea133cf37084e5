//! The built `newsflow` binary as a child process (for SIGKILL/SIGTERM tests).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The built `newsflow` binary: `$CARGO_BIN_EXE_newsflow` where the test runner sets it,
/// else beside the test binary's `deps/` folder (`target/<profile>/newsflow`), where cargo
/// builds it for the package's integration tests.
pub fn newsflow_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CARGO_BIN_EXE_newsflow") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut dir = exe
        .parent()
        .expect("the test binary's folder")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(format!("newsflow{}", std::env::consts::EXE_SUFFIX))
}

/// The TOML config of a `newsflow run` process in these tests: `brokers` and `group`,
/// the [kafka] settings every such test wants (short fetch waits for tansu, client
/// statistics, short consumer sessions so restarts rebalance quickly), `kafka_extra`
/// lines inside [kafka], then `sections` ([pipeline], [http], ...) and JSON logs.
pub fn service_toml(brokers: &str, group: &str, kafka_extra: &str, sections: &str) -> String {
    format!(
        r#"[kafka]
brokers = "{brokers}"
group_id = "{group}"
fetch_wait_max_ms = 10
statistics_interval_ms = 500
{kafka_extra}
[kafka.consumer_properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
{sections}
[log]
format = "json"
level = "info"
"#
    )
}

/// A `newsflow run` process.
pub struct Service {
    pub child: Child,
    pub log: PathBuf,
}

impl Service {
    /// Starts `newsflow run --config CONFIG` with extra environment, stderr to `log`.
    pub fn start(config: &Path, env: &[(&str, &str)], log: PathBuf) -> Service {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(newsflow_bin());
        cmd.args(["run", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log_file)
            // The fault and delivery tests exercise the runtime, not the tagger: the fast
            // tier keeps them quick; a test that wants the accurate tier says so in `env`.
            .env("NEWSFLOW_TAGGER__MODE", "fast");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start newsflow");
        Service { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Resident set size of the process in KiB (Linux), if readable.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib_of(self.child.id())
    }
}

/// VmRSS of a process in KiB from /proc.
pub fn rss_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal HTTP/1.1 GET; returns (status, body). (0, "") when the connection fails.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// A small deterministic PRNG (xorshift) for random kill points; seeded from the clock
/// unless NEWSFLOW_TEST_SEED is set. The seed is printed so failures can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn from_env() -> Rng {
        let seed = std::env::var("NEWSFLOW_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("NEWSFLOW_TEST_SEED={seed}");
        Rng(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Starts `newsflow run --config CONFIG` (with extra environment `env`) `rounds` times,
/// SIGKILLs it each time at a random moment (after `progress` more records arrived on
/// `reader`, plus up to `jitter_ms`), and returns what was read plus the log file of each
/// round (`run{round}.log` in `dir`). Panics when a round makes no progress.
#[allow(clippy::too_many_arguments)]
pub async fn kill_rounds(
    config: &Path,
    dir: &Path,
    reader: &rdkafka::consumer::StreamConsumer,
    env: &[(&str, &str)],
    rounds: usize,
    progress: usize,
    jitter_ms: u64,
    limit: usize,
) -> (Vec<super::Seen>, Vec<PathBuf>) {
    let mut rng = Rng::from_env();
    let mut seen = Vec::new();
    let mut logs = Vec::new();
    for round in 0..rounds {
        let log = dir.join(format!("run{round}.log"));
        logs.push(log.clone());
        let mut svc = Service::start(config, env, log);
        let target = seen.len() + progress;
        let more = super::read_until(reader, Duration::from_secs(90), |s| {
            seen.len() + s.len() >= target
        })
        .await;
        seen.extend(more);
        tokio::time::sleep(Duration::from_millis(rng.below(jitter_ms))).await;
        svc.signal("-KILL");
        svc.wait_exit(Duration::from_secs(10)).expect("killed");
        assert!(
            seen.len() >= target.min(limit),
            "round {round}: no progress; log:\n{}",
            svc.log_tail()
        );
    }
    (seen, logs)
}
