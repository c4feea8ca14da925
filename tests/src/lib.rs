//! Harness for end-to-end tests: a real Redis Stack, the real `indexer` and `searcher` binaries as
//! processes on free loopback ports, and gRPC clients for them.
//!
//! The binaries are built on first use with the same cargo and profile as the tests. Each service logs
//! JSON to a file in a temporary directory; the harness reads its bound address from the `listening`
//! line and waits for its health status to turn SERVING. On a failed test every log is printed.

pub mod arxiv;
pub mod data;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use docsearch_proto::v1::index_service_client::IndexServiceClient;
use docsearch_proto::v1::ingest_service_client::IngestServiceClient;
use docsearch_proto::v1::search_service_client::SearchServiceClient;
use docsearch_runtime::testing::RedisServer;
use tempfile::TempDir;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Time a service gets to bind its port and report SERVING.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Which binary a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Indexer,
    Searcher,
}

impl ServiceKind {
    pub fn binary_name(self) -> &'static str {
        match self {
            ServiceKind::Indexer => "indexer",
            ServiceKind::Searcher => "searcher",
        }
    }
}

/// A service binary running as a child process.
pub struct ServiceProcess {
    pub kind: ServiceKind,
    pub address: String,
    process: Option<Child>,
    log_path: PathBuf,
}

impl ServiceProcess {
    /// Starts a service against `redis` with extra `DOCSEARCH__…` settings, and waits until it serves.
    pub async fn start(
        kind: ServiceKind,
        redis: &RedisServer,
        dir: &Path,
        settings: &[(&str, String)],
    ) -> Self {
        let log_path = dir.join(format!("{}.log", kind.binary_name()));
        let log = std::fs::File::create(&log_path).expect("failed to create the service log");
        let mut command = Command::new(binary(kind.binary_name()));
        command
            .env_remove("RUST_LOG")
            .env("DOCSEARCH__REDIS__URL", redis.url())
            .env("DOCSEARCH__REDIS__NAMESPACE", redis.namespace())
            .env("DOCSEARCH__SERVER__LISTEN_ADDR", "127.0.0.1:0")
            .env("DOCSEARCH__SERVER__HEALTH_CHECK_INTERVAL", "200ms")
            .env("DOCSEARCH__TELEMETRY__LOG_FORMAT", "json")
            .stdout(Stdio::from(
                log.try_clone().expect("failed to share the log file"),
            ))
            .stderr(Stdio::from(log));
        for (key, value) in settings {
            command.env(key, value);
        }
        let process = command
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {}: {error}", kind.binary_name()));
        let mut service = ServiceProcess {
            kind,
            address: String::new(),
            process: Some(process),
            log_path,
        };
        service.address = service.wait_for_address().await;
        service.wait_until_serving().await;
        service
    }

    /// The endpoint URL for tonic clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.endpoint())
            .expect("valid endpoint")
            .connect()
            .await
            .unwrap_or_else(|error| panic!("failed to connect to {}: {error}", self.address))
    }

    /// The service log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The process id, for sending signals.
    pub fn pid(&self) -> u32 {
        self.process.as_ref().expect("the process is running").id()
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; returns the exit code, or `None` when the
    /// process is still running at the deadline (it is then killed).
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let mut process = self.process.take()?;
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(process.id().to_string())
            .status()
            .expect("failed to run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = process.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = process.kill();
        let _ = process.wait();
        None
    }

    async fn wait_for_address(&mut self) -> String {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(address) = listening_address(&self.log()) {
                return address;
            }
            if let Some(process) = self.process.as_mut()
                && let Ok(Some(status)) = process.try_wait()
            {
                panic!(
                    "{} exited with {status} before listening:\n{}",
                    self.kind.binary_name(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{} did not log its address within {STARTUP_TIMEOUT:?}:\n{}",
            self.kind.binary_name(),
            self.log()
        );
    }

    async fn wait_until_serving(&self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut health = HealthClient::new(self.channel().await);
        while Instant::now() < deadline {
            let request = HealthCheckRequest {
                service: String::new(),
            };
            if let Ok(response) = health.check(request).await
                && response.get_ref().status == ServingStatus::Serving as i32
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} did not turn SERVING within {STARTUP_TIMEOUT:?}:\n{}",
            self.kind.binary_name(),
            self.log()
        );
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- {} log ----\n{}", self.kind.binary_name(), self.log());
        }
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

fn listening_address(log: &str) -> Option<String> {
    log.lines().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        (value.get("message")?.as_str()? == "listening")
            .then(|| value.get("address")?.as_str().map(str::to_owned))?
    })
}

/// Redis Stack with both services in front of it.
pub struct Stack {
    // Dropped first, so the services stop before Redis.
    pub indexer: ServiceProcess,
    pub searcher: ServiceProcess,
    pub redis: RedisServer,
    pub dir: TempDir,
}

/// Options of [`Stack::start`].
#[derive(Debug, Default, Clone)]
pub struct StackOptions {
    /// The embedding model directory both services load.
    pub model_dir: Option<PathBuf>,
    /// Extra `DOCSEARCH__…` settings for both services.
    pub settings: Vec<(&'static str, String)>,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Stack {
        let dir = tempfile::Builder::new()
            .prefix("docsearch-e2e-")
            .tempdir()
            .expect("failed to create a temporary directory");
        let redis = RedisServer::start();
        let mut settings = options.settings.clone();
        if let Some(model_dir) = &options.model_dir {
            settings.push((
                "DOCSEARCH__EMBEDDING__MODEL_DIR",
                model_dir.display().to_string(),
            ));
        }
        let (indexer, searcher) = tokio::join!(
            ServiceProcess::start(ServiceKind::Indexer, &redis, dir.path(), &settings),
            ServiceProcess::start(ServiceKind::Searcher, &redis, dir.path(), &settings),
        );
        Stack {
            indexer,
            searcher,
            redis,
            dir,
        }
    }

    pub async fn index_client(&self) -> IndexServiceClient<Channel> {
        IndexServiceClient::new(self.indexer.channel().await).max_decoding_message_size(64 << 20)
    }

    pub async fn ingest_client(&self) -> IngestServiceClient<Channel> {
        IngestServiceClient::new(self.indexer.channel().await)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    pub async fn search_client(&self) -> SearchServiceClient<Channel> {
        SearchServiceClient::new(self.searcher.channel().await).max_decoding_message_size(64 << 20)
    }
}

/// The path of a workspace binary, built once per test process with the tests' cargo and profile.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let profile_dir = BUILT.get_or_init(|| {
        // Test executables live in <target>/<profile>/deps; binaries one level up.
        let executable = std::env::current_exe().expect("the test executable has a path");
        let profile_dir = executable
            .parent()
            .and_then(Path::parent)
            .expect("the test executable lives in <target>/<profile>/deps")
            .to_owned();
        let profile = profile_dir
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("debug")
            .to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command.current_dir(workspace_root()).args([
            "build",
            "--quiet",
            "--bin",
            "indexer",
            "--bin",
            "searcher",
            "--bin",
            "docsearch",
        ]);
        if profile != "debug" {
            command.args([
                "--profile",
                if profile == "release" {
                    "release"
                } else {
                    &profile
                },
            ]);
        }
        if let Some(target_dir) = profile_dir.parent() {
            command.env("CARGO_TARGET_DIR", target_dir);
        }
        let status = command.status().expect("failed to run cargo build");
        assert!(
            status.success(),
            "cargo build of the service binaries failed"
        );
        profile_dir
    });
    profile_dir.join(name)
}

/// The workspace root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// True when the environment demands that every test component be present (CI sets
/// `DOCSEARCH_REQUIRE_ALL=1`), so that a missing component fails instead of skipping.
pub fn require_all() -> bool {
    std::env::var("DOCSEARCH_REQUIRE_ALL").is_ok_and(|value| value == "1")
}

/// The embedding model directory: `DOCSEARCH_MODEL_DIR`, else the provisioning cache. `None` (after a
/// skip message) when absent, unless [`require_all`].
pub fn model_dir() -> Option<PathBuf> {
    let candidate = std::env::var_os("DOCSEARCH_MODEL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("DOCSEARCH_CACHE_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|home| PathBuf::from(home).join(".cache/docsearch"))
                })?;
            Some(cache.join("all-MiniLM-L6-v2"))
        });
    match candidate {
        Some(dir) if dir.join("model.safetensors").is_file() => Some(dir),
        _ => {
            skip_or_fail(
                "the embedding model is missing; run scripts/provision.sh model or set DOCSEARCH_MODEL_DIR",
            );
            None
        }
    }
}

/// Finds an executable: on PATH, then in the provisioning virtualenv.
pub fn tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let cache = std::env::var_os("DOCSEARCH_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/docsearch"))
            })?;
        let candidate = cache.join("venv/bin").join(name);
        candidate.is_file().then_some(candidate)
    })
}

/// Prints why a test is skipped, or panics with the same reason under [`require_all`].
pub fn skip_or_fail(reason: &str) {
    assert!(
        !require_all(),
        "{reason} (DOCSEARCH_REQUIRE_ALL=1 forbids skipping)"
    );
    eprintln!("SKIPPED: {reason}");
}

/// Streams `documents` into `index` through Ingest in batches of `batch_size`, and returns every
/// acknowledgement in order.
pub async fn ingest_all(
    client: &mut IngestServiceClient<Channel>,
    index: &str,
    documents: Vec<docsearch_proto::v1::Document>,
    batch_size: usize,
) -> Vec<docsearch_proto::v1::IngestResponse> {
    let batches: Vec<docsearch_proto::v1::IngestRequest> = documents
        .chunks(batch_size)
        .enumerate()
        .map(|(number, chunk)| docsearch_proto::v1::IngestRequest {
            index: index.to_owned(),
            batch_id: format!("batch-{number}"),
            documents: chunk.to_vec(),
            skip_existing: false,
        })
        .collect();
    let num_batches = batches.len();
    let response = client
        .ingest(tokio_stream::iter(batches))
        .await
        .unwrap_or_else(|status| panic!("Ingest failed to start: {status}"));
    let mut acks_stream = response.into_inner();
    let mut acks = Vec::with_capacity(num_batches);
    while let Some(ack) = acks_stream.message().await.unwrap_or_else(|status| {
        panic!(
            "Ingest stream failed after {} acknowledgements: {status}",
            acks.len()
        )
    }) {
        acks.push(ack);
    }
    acks
}

/// Time one run of the `docsearch` command-line client may take before it is killed.
const CLI_TIMEOUT: Duration = Duration::from_secs(900);

/// Exit code and output of one run of the `docsearch` command-line client.
#[derive(Debug)]
pub struct CliOutput {
    /// `None` when the process was killed by a signal or for running past its timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Stack {
    /// Runs the `docsearch` binary with `args` against this stack's indexer and searcher, and waits
    /// for it to exit. A run longer than [`CLI_TIMEOUT`] is killed.
    pub fn run_cli(&self, args: &[&str]) -> CliOutput {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stdout_path = self.dir.path().join(format!("cli-{run}.stdout"));
        let stderr_path = self.dir.path().join(format!("cli-{run}.stderr"));
        let mut process = Command::new(binary("docsearch"))
            .args(args)
            .env("DOCSEARCH_INDEXER", self.indexer.endpoint())
            .env("DOCSEARCH_SEARCHER", self.searcher.endpoint())
            .env_remove("DOCSEARCH_TIMEOUT")
            .stdin(Stdio::null())
            .stdout(
                std::fs::File::create(&stdout_path).expect("failed to create the CLI output file"),
            )
            .stderr(
                std::fs::File::create(&stderr_path).expect("failed to create the CLI error file"),
            )
            .spawn()
            .expect("failed to start docsearch");
        let deadline = Instant::now() + CLI_TIMEOUT;
        let code = loop {
            if let Some(status) = process.try_wait().expect("failed to wait for docsearch") {
                break status.code();
            }
            if Instant::now() >= deadline {
                let _ = process.kill();
                let _ = process.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        CliOutput {
            code,
            stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        }
    }
}
