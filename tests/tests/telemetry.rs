//! Traces reach a real OTLP collector (rotel): the RPC span carries the service name and joins the
//! trace named in the caller's `traceparent` header, and the HTTP/2 library's own spans stay out.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docsearch_e2e::{Stack, StackOptions, skip_or_fail, tool};
use docsearch_proto::v1 as pb;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The rotel collector, printing what it receives to a log file; killed on drop.
struct Collector {
    process: Child,
    grpc_port: u16,
    log_path: std::path::PathBuf,
}

impl Collector {
    fn start(dir: &std::path::Path) -> Collector {
        let grpc_port = free_port();
        let http_port = free_port();
        let log_path = dir.join("rotel.log");
        let log = std::fs::File::create(&log_path).expect("failed to create the collector log");
        let process = Command::new(tool("rotel-agent").expect("rotel-agent is installed"))
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc_port}"),
            ])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args([
                "--exporter",
                "blackhole",
                "--debug-log",
                "traces",
                "--debug-log-verbosity",
                "detailed",
            ])
            .stdout(Stdio::from(
                log.try_clone().expect("failed to share the log"),
            ))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("failed to start rotel-agent");
        let collector = Collector {
            process,
            grpc_port,
            log_path,
        };
        collector.wait_until_listening();
        collector
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.grpc_port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rotel-agent did not listen within 20 s:\n{}", self.log());
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- rotel-agent log ----\n{}", self.log());
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_spans_reach_collector() {
    if tool("rotel-agent").is_none() {
        skip_or_fail("rotel-agent is missing; run scripts/provision.sh tools");
        return;
    }
    let collector_dir = tempfile::tempdir().expect("temporary directory");
    let collector = Collector::start(collector_dir.path());
    let mut stack = Stack::start(StackOptions {
        settings: vec![(
            "DOCSEARCH__TELEMETRY__OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", collector.grpc_port),
        )],
        ..StackOptions::default()
    })
    .await;

    let mut admin = stack.index_client().await;
    let mut request = tonic::Request::new(pb::ListIndexesRequest {});
    request
        .metadata_mut()
        .insert("traceparent", TRACEPARENT.parse().expect("valid metadata"));
    admin.list_indexes(request).await.expect("ListIndexes");

    // Shutting down flushes the batch exporter, so the spans are sent by the time the process exits.
    let indexer = &mut stack.indexer;
    let exit = tokio::task::block_in_place(|| indexer.terminate(Duration::from_secs(15)));
    assert_eq!(exit, Some(0), "the indexer exits cleanly");

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = collector.log();
    while !log.contains(TRACE_ID) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = collector.log();
    }
    assert!(
        log.contains("service.name: Str(docsearch-indexer)"),
        "spans name the service:\n{log}"
    );
    let rpc_span = log
        .split("Span #")
        .find(|span| span.contains(&format!("Trace ID       : {TRACE_ID}")))
        .unwrap_or_else(|| panic!("no span joined trace {TRACE_ID}:\n{log}"));
    assert!(
        rpc_span.contains("Name           : rpc"),
        "the RPC span joined the caller's trace:\n{rpc_span}"
    );
    assert!(
        rpc_span.contains("ListIndexes"),
        "the RPC span names the method:\n{rpc_span}"
    );
    assert!(
        !log.contains("FramedWrite"),
        "HTTP/2 library spans are not exported"
    );
}
