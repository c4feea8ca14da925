//! A real Redis Stack for tests: started on a free loopback port in a temporary directory, killed on
//! drop, with its log printed when the test fails.
//!
//! Where the server comes from, in order:
//! 1. `DOCSEARCH_TEST_REDIS_URL`: an already running Redis with the search module. Tests then share it,
//!    each under its own key namespace, and nothing is started or stopped.
//! 2. `DOCSEARCH_REDIS_STACK_DIR`: a directory with `bin/redis-server`, `lib/redisearch.so`,
//!    `lib/rejson.so` and, optionally, `ssl/` holding the libssl 1.1 that the binary links.
//! 3. `redis-stack-server` on `PATH`.
//! 4. The cache that `scripts/provision.sh redis` fills (`$DOCSEARCH_CACHE_DIR/redis-stack`, by default
//!    `~/.cache/docsearch/redis-stack`); the script runs once if the cache is empty.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Time a starting server gets to reply to FT._LIST, which needs the search module.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at a free port, since another process may take the port between probe and bind.
const MAX_START_ATTEMPTS: usize = 5;

static NEXT_NAMESPACE: AtomicU32 = AtomicU32::new(0);

/// A Redis Stack server owned by one test.
pub struct RedisServer {
    url: String,
    namespace: String,
    process: Option<Child>,
    log_path: Option<PathBuf>,
    /// How the local server was started, for [`RedisServer::restart`]; `None` for an external server.
    launch: Option<(Launcher, u16)>,
    // Removed after the process is killed, because fields drop in declaration order.
    _dir: Option<TempDir>,
}

/// How to start a local server.
#[derive(Clone)]
enum Launcher {
    /// redis-server with explicit module paths and library path.
    Binary {
        server: PathBuf,
        lib: PathBuf,
        ld_path: Option<PathBuf>,
    },
    /// The redis-stack-server wrapper script, which loads the modules itself.
    StackScript(PathBuf),
}

impl RedisServer {
    /// Starts a server, or attaches to `DOCSEARCH_TEST_REDIS_URL`. Panics with the reason and the server
    /// log when the server does not come up.
    pub fn start() -> RedisServer {
        let namespace = format!(
            "t{}x{}",
            std::process::id(),
            NEXT_NAMESPACE.fetch_add(1, Ordering::Relaxed)
        );
        if let Ok(url) = std::env::var("DOCSEARCH_TEST_REDIS_URL") {
            return RedisServer {
                url,
                namespace,
                process: None,
                log_path: None,
                launch: None,
                _dir: None,
            };
        }
        let launcher = find_launcher();
        let mut last_error = String::new();
        for _ in 0..MAX_START_ATTEMPTS {
            match start_local(&launcher, &namespace) {
                Ok(server) => return server,
                Err(error) => last_error = error,
            }
        }
        panic!("failed to start Redis Stack after {MAX_START_ATTEMPTS} attempts: {last_error}");
    }

    /// The `redis://` URL of the server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A key namespace unique to this server handle, for the services' `redis.namespace`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Builds the services' Redis settings for this server: its URL and namespace, other keys at their defaults.
    pub fn redis_config(&self) -> crate::config::RedisConfig {
        crate::config::RedisConfig {
            url: self.url.clone(),
            namespace: self.namespace.clone(),
            ..crate::config::RedisConfig::default()
        }
    }

    /// The server log so far; empty for an external server.
    pub fn log(&self) -> String {
        self.log_path
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// Starts the killed server again on the same port, empty, as after a crash without persistence.
    /// Panics for an external server or when the server does not come up.
    pub fn restart(&mut self) {
        self.kill();
        let (launcher, port) = self
            .launch
            .clone()
            .expect("only a server started here can restart");
        let dir = self
            ._dir
            .as_ref()
            .expect("a local server has a directory")
            .path()
            .to_owned();
        let log_path = self.log_path.clone().expect("a local server has a log");
        let process = spawn_server(&launcher, port, &dir, &log_path)
            .unwrap_or_else(|error| panic!("failed to restart Redis Stack: {error}"));
        self.process = Some(process);
        if let Err(error) = wait_until_ready(self) {
            panic!(
                "Redis Stack did not come back on port {port}: {error}\n{}",
                self.log()
            );
        }
    }

    /// Kills the server process, as a crash would; for tests of how the services cope.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if std::thread::panicking() && self.log_path.is_some() {
            eprintln!("---- Redis Stack log ({}) ----\n{}", self.url, self.log());
        }
        self.kill();
    }
}

fn start_local(launcher: &Launcher, namespace: &str) -> Result<RedisServer, String> {
    let dir = tempfile::Builder::new()
        .prefix("docsearch-redis-")
        .tempdir()
        .map_err(|error| format!("failed to create a temporary directory: {error}"))?;
    let port = free_port()?;
    let log_path = dir.path().join("redis.log");
    let process = spawn_server(launcher, port, dir.path(), &log_path)?;

    let mut server = RedisServer {
        url: format!("redis://127.0.0.1:{port}"),
        namespace: namespace.to_owned(),
        process: Some(process),
        log_path: Some(log_path),
        launch: Some((launcher.clone(), port)),
        _dir: Some(dir),
    };
    match wait_until_ready(&mut server) {
        Ok(()) => Ok(server),
        Err(error) => {
            let log = server.log();
            server.kill();
            Err(format!("{error}\n---- server log ----\n{log}"))
        }
    }
}

/// Runs the server on `port` with its data and log in `dir`, appending to the log.
fn spawn_server(
    launcher: &Launcher,
    port: u16,
    dir: &Path,
    log_path: &Path,
) -> Result<Child, String> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|error| format!("failed to open the log: {error}"))?;
    let common_args = [
        "--port".to_owned(),
        port.to_string(),
        "--bind".to_owned(),
        "127.0.0.1".to_owned(),
        "--dir".to_owned(),
        dir.display().to_string(),
        "--save".to_owned(),
        String::new(),
        "--appendonly".to_owned(),
        "no".to_owned(),
    ];
    let mut command = match launcher {
        Launcher::Binary {
            server,
            lib,
            ld_path,
        } => {
            let mut command = Command::new(server);
            command
                .args(&common_args)
                .arg("--loadmodule")
                .arg(lib.join("redisearch.so"))
                .arg("--loadmodule")
                .arg(lib.join("rejson.so"));
            if let Some(ld_path) = ld_path {
                command.env("LD_LIBRARY_PATH", ld_path);
            }
            command
        }
        Launcher::StackScript(script) => {
            let mut command = Command::new(script);
            command.args(&common_args);
            command
        }
    };
    let stderr = log_file.try_clone().map_err(|error| error.to_string())?;
    command
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(stderr))
        .spawn()
        .map_err(|error| format!("failed to run the Redis Stack server: {error}"))
}

fn wait_until_ready(server: &mut RedisServer) -> Result<(), String> {
    let client = redis::Client::open(server.url.as_str()).map_err(|error| error.to_string())?;
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let mut last_error = String::from("not started");
    while Instant::now() < deadline {
        if let Some(process) = server.process.as_mut()
            && let Ok(Some(status)) = process.try_wait()
        {
            return Err(format!("the server exited with {status}"));
        }
        match client.get_connection_with_timeout(Duration::from_millis(500)) {
            Ok(mut connection) => {
                match redis::cmd("FT._LIST").query::<Vec<String>>(&mut connection) {
                    Ok(_) => return Ok(()),
                    // LOADING while the server reads its data set; anything else means no search module.
                    Err(error) if error.to_string().contains("LOADING") => {
                        last_error = error.to_string()
                    }
                    Err(error) => {
                        return Err(format!("the server has no working search module: {error}"));
                    }
                }
            }
            Err(error) => last_error = error.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "the server did not answer within {STARTUP_TIMEOUT:?}: {last_error}"
    ))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| format!("failed to find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| error.to_string())
}

fn find_launcher() -> Launcher {
    static LAUNCHER_DIR: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    if let Some(dir) = std::env::var_os("DOCSEARCH_REDIS_STACK_DIR") {
        return binary_launcher(Path::new(&dir)).unwrap_or_else(|reason| {
            panic!(
                "DOCSEARCH_REDIS_STACK_DIR={}: {reason}",
                Path::new(&dir).display()
            )
        });
    }
    if let Some(script) = find_on_path("redis-stack-server") {
        return Launcher::StackScript(script);
    }
    let cache = LAUNCHER_DIR.get_or_init(|| Mutex::new(None));
    let mut cached = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = cached.get_or_insert_with(provisioned_dir).clone();
    binary_launcher(&dir).unwrap_or_else(|reason| panic!("{}: {reason}", dir.display()))
}

fn binary_launcher(dir: &Path) -> Result<Launcher, String> {
    let server = dir.join("bin/redis-server");
    let lib = dir.join("lib");
    if !server.is_file() {
        return Err(format!(
            "{} is missing; run scripts/provision.sh redis",
            server.display()
        ));
    }
    if !lib.join("redisearch.so").is_file() {
        return Err(format!(
            "{} is missing",
            lib.join("redisearch.so").display()
        ));
    }
    let ssl = dir.join("ssl/usr/lib/x86_64-linux-gnu");
    Ok(Launcher::Binary {
        server,
        lib,
        ld_path: ssl.is_dir().then_some(ssl),
    })
}

/// Returns the cache directory of `scripts/provision.sh`, running the script if the cache is empty.
fn provisioned_dir() -> PathBuf {
    let cache = std::env::var_os("DOCSEARCH_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/docsearch"))
        })
        .unwrap_or_else(|| PathBuf::from(".cache/docsearch"));
    let dir = cache.join("redis-stack");
    if dir.join("bin/redis-server").is_file() {
        return dir;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/provision.sh");
    eprintln!(
        "Redis Stack is not provisioned yet; running {} redis",
        script.display()
    );
    let status = Command::new(&script)
        .arg("redis")
        .env("DOCSEARCH_CACHE_DIR", &cache)
        .status()
        .unwrap_or_else(|error| panic!("failed to run {}: {error}", script.display()));
    assert!(
        status.success(),
        "{} redis failed with {status}",
        script.display()
    );
    dir
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
