//! Both services driven with the real grpcurl through server reflection, as an operator would.

use std::process::Command;

use docsearch_e2e::{Stack, StackOptions, skip_or_fail, tool};

/// Runs `grpcurl -plaintext FLAGS ADDRESS COMMAND` and returns its standard output; panics with its
/// error output when it fails.
fn grpcurl(flags: &[&str], address: &str, command: &[&str]) -> String {
    let grpcurl = tool("grpcurl").expect("grpcurl is installed");
    let output = Command::new(grpcurl)
        .arg("-plaintext")
        .args(flags)
        .arg(address)
        .args(command)
        .output()
        .expect("failed to run grpcurl");
    assert!(
        output.status.success(),
        "grpcurl {flags:?} {address} {command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("grpcurl prints UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_describes_and_calls() {
    if tool("grpcurl").is_none() {
        skip_or_fail("grpcurl is missing; run scripts/provision.sh tools");
        return;
    }
    let stack = Stack::start(StackOptions::default()).await;
    let indexer = stack.indexer.address.clone();
    let searcher = stack.searcher.address.clone();

    let services = grpcurl(&[], &indexer, &["list"]);
    for service in [
        "docsearch.v1.IndexService",
        "docsearch.v1.IngestService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.lines().any(|line| line == service),
            "indexer lists {service}: {services}"
        );
    }
    assert!(
        !services.contains("SearchService"),
        "the indexer does not advertise the searcher's service"
    );
    let services = grpcurl(&[], &searcher, &["list"]);
    assert!(
        services
            .lines()
            .any(|line| line == "docsearch.v1.SearchService"),
        "{services}"
    );

    let description = grpcurl(
        &[],
        &indexer,
        &["describe", "docsearch.v1.IngestService.Ingest"],
    );
    assert!(
        description.contains("rpc Ingest ( stream .docsearch.v1.IngestRequest ) returns ( stream .docsearch.v1.IngestResponse )"),
        "{description}"
    );
    let description = grpcurl(&[], &searcher, &["describe", "docsearch.v1.SearchRequest"]);
    assert!(description.contains("similar_to_id"), "{description}");

    for address in [&indexer, &searcher] {
        let health = grpcurl(&["-d", "{}"], address, &["grpc.health.v1.Health/Check"]);
        assert!(health.contains("\"SERVING\""), "{health}");
    }

    let schema = r#"{"name": "demo", "schema": {"fields": [
        {"name": "title", "text": {}},
        {"name": "embedding", "vector": {"algorithm": "VECTOR_ALGORITHM_FLAT", "dimension": 3, "metric": "DISTANCE_METRIC_COSINE"}}]}}"#;
    grpcurl(
        &["-d", schema],
        &indexer,
        &["docsearch.v1.IndexService/CreateIndex"],
    );
    let documents = r#"{"index": "demo", "documents": [
        {"id": "a", "fields": {"title": {"text": "first"}}, "vectors": {"embedding": {"values": [1, 0, 0]}}},
        {"id": "b", "fields": {"title": {"text": "second"}}, "vectors": {"embedding": {"values": [0, 1, 0]}}}]}"#;
    let upsert = grpcurl(
        &["-d", documents],
        &indexer,
        &["docsearch.v1.IngestService/Upsert"],
    );
    assert!(upsert.contains("\"numWritten\": 2"), "{upsert}");

    let query = r#"{"index": "demo", "vector": {"values": [0.9, 0.1, 0]}, "k": 1}"#;
    let result = grpcurl(
        &["-d", query],
        &searcher,
        &["docsearch.v1.SearchService/Search"],
    );
    let parsed: serde_json::Value = serde_json::from_str(&result).expect("grpcurl prints JSON");
    assert_eq!(parsed["hits"][0]["id"], "a", "{result}");
    assert_eq!(
        parsed["hits"][0]["fields"]["title"]["text"], "first",
        "{result}"
    );
    assert_eq!(parsed["total"], "2", "{result}");
}
