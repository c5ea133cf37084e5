//! A tansu broker (Kafka-compatible, in-memory storage) as a child process on 127.0.0.1.
//!
//! Used by the integration tests and by the examples that drive the release binary; it
//! depends on std only.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tansu binary: on PATH or in `~/.cargo/bin` (where `scripts/test.sh` installs it).
pub fn tansu_binary() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin")))
        .map(|d| d.join("tansu"))
        .find(|b| b.is_file())
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A running tansu broker; killed when dropped.
pub struct Tansu {
    child: Child,
    bin: PathBuf,
    /// The listener port on 127.0.0.1.
    pub port: u16,
}

impl Tansu {
    /// Starts tansu for a test. Without a tansu binary the test is skipped (`None`), unless
    /// NEWSFLOW_REQUIRE_TANSU is set (CI), where a missing tansu fails the test.
    pub fn start() -> Option<Tansu> {
        let port = free_port();
        Tansu::start_behind(port, port)
    }

    /// Starts tansu and waits until it listens; panics when it is not installed.
    pub fn start_required() -> Tansu {
        let port = free_port();
        Tansu::start_with(port, port)
    }

    /// Like [`Tansu::start`], listening on `port` but advertising `advertised` to clients
    /// (a TLS terminator in front of it).
    pub fn start_behind(port: u16, advertised: u16) -> Option<Tansu> {
        if tansu_binary().is_none() {
            assert!(
                std::env::var_os("NEWSFLOW_REQUIRE_TANSU").is_none(),
                "tansu is required (NEWSFLOW_REQUIRE_TANSU) but not installed"
            );
            eprintln!("SKIP: tansu not installed; run scripts/test.sh to install it");
            return None;
        }
        Some(Tansu::start_with(port, advertised))
    }

    fn start_with(port: u16, advertised: u16) -> Tansu {
        let bin = tansu_binary()
            .expect("tansu not found (cargo install tansu --locked --features dynostore)");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{port}"),
            ])
            .args([
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{advertised}"),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let t = Tansu { child, bin, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not start listening");
            std::thread::sleep(Duration::from_millis(100));
        }
        t
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates a topic (tansu does not auto-create).
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let status = Command::new(&self.bin)
            .args(["topic", "create", name])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .args(["--partitions", &partitions.to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(status.success(), "creating topic {name}");
    }

    /// Creates the service's three topics: raw and enriched with `partitions`, DLQ with 1.
    pub fn create_service_topics(&self, partitions: u32) {
        self.create_topic("articles.raw", partitions);
        self.create_topic("articles.enriched", partitions);
        self.create_topic("articles.dlq", 1);
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
