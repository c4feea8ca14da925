//! Both services reject an invalid configuration at start with exit code 78 (EX_CONFIG) and one
//! message that names the key, the source of its value and the fix. No Redis is needed: each case
//! fails before the first Redis command.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docsearch_e2e::binary;

/// Time a service gets to reject its configuration and exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Exit code for an invalid configuration (EX_CONFIG in sysexits.h).
const EXIT_CONFIG: i32 = 78;

/// Runs a service binary with `args` and `DOCSEARCH__…` settings, and returns its exit code and
/// standard error. A service still running at the deadline is killed, and the test fails.
fn run_service(name: &str, args: &[&str], settings: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let stderr_path = dir.path().join("stderr");
    let mut command = Command::new(binary(name));
    command
        .args(args)
        .env_remove("DOCSEARCH_CONFIG")
        .env_remove("RUST_LOG")
        .env("DOCSEARCH__SERVER__LISTEN_ADDR", "127.0.0.1:0")
        .env("DOCSEARCH__REDIS__URL", "redis://127.0.0.1:1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("failed to create the stderr file"));
    for (key, value) in settings {
        command.env(key, value);
    }
    let mut process = command
        .spawn()
        .unwrap_or_else(|error| panic!("failed to start {name}: {error}"));
    let deadline = Instant::now() + EXIT_TIMEOUT;
    let code = loop {
        if let Some(status) = process.try_wait().expect("failed to wait for the service") {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = process.kill();
            let _ = process.wait();
            panic!("{name} was still running after {EXIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    (code, stderr)
}

#[test]
fn model_dir_without_model_exits_78() {
    let empty = tempfile::tempdir().expect("failed to create a temporary directory");
    let model_dir = empty.path().to_str().expect("UTF-8 path");
    for name in ["indexer", "searcher"] {
        let (code, stderr) =
            run_service(name, &[], &[("DOCSEARCH__EMBEDDING__MODEL_DIR", model_dir)]);
        assert_eq!(code, Some(EXIT_CONFIG), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}: invalid configuration key embedding.model_dir: model files not found in {model_dir}: model.safetensors"
            )),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn zero_connect_timeout_names_its_key() {
    for name in ["indexer", "searcher"] {
        let (code, stderr) = run_service(name, &[], &[("DOCSEARCH__REDIS__CONNECT_TIMEOUT", "0s")]);
        assert_eq!(code, Some(EXIT_CONFIG), "{name}: {stderr}");
        assert!(
            stderr.contains("invalid configuration key redis.connect_timeout:"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn toml_syntax_error_names_the_file() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let path = dir.path().join("service.toml");
    std::fs::write(&path, "[server\nlisten_addr = \"127.0.0.1:0\"\n")
        .expect("failed to write the configuration file");
    let path = path.to_str().expect("UTF-8 path");
    let (code, stderr) = run_service("indexer", &["--config", path], &[]);
    assert_eq!(code, Some(EXIT_CONFIG), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "indexer: invalid configuration file {path}: TOML parse error at line 1, column 8: \
             invalid table header, expected `.`, `]`; fix the file and restart"
        )
    );
}
