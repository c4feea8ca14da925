//! Request checks of IndexService and IngestService through their gRPC adapters, against a real
//! Redis Stack: which field an error names, and how Delete treats invalid and repeated ids.

use docsearch_indexer::config::IngestConfig;
use docsearch_indexer::ingest::Ingestor;
use docsearch_indexer::service::admin::IndexAdmin;
use docsearch_indexer::service::ingest::IngestHandler;
use docsearch_proto::v1 as pb;
use docsearch_proto::v1::index_service_server::IndexService;
use docsearch_proto::v1::ingest_service_server::IngestService;
use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::connection;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::testing::RedisServer;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request};

use common::{titled, titles_schema};

mod common;

const INDEX: &str = "papers";

struct Services {
    admin: IndexAdmin,
    ingest: IngestHandler,
    connection: redis::aio::ConnectionManager,
    layout: KeyLayout,
    // Dropped last, so the server outlives the connections.
    _server: RedisServer,
}

async fn start() -> Services {
    let server = RedisServer::start();
    let config = server.redis_config();
    let connection = connection::connect(&config).expect("connect");
    let layout = KeyLayout::new(server.namespace()).expect("namespace");
    let catalog = Catalog::new(connection.clone(), layout.clone());
    let ingestor = Ingestor::new(
        catalog.clone(),
        connection.clone(),
        None,
        IngestConfig::default(),
    );
    Services {
        admin: IndexAdmin::new(catalog, None),
        ingest: IngestHandler::new(ingestor, CancellationToken::new()),
        connection,
        layout,
        _server: server,
    }
}

fn assert_invalid(status: &tonic::Status, prefix: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(prefix),
        "expected a message starting with {prefix:?}: {}",
        status.message()
    );
}

async fn create_index(services: &Services) {
    services
        .admin
        .create_index(Request::new(pb::CreateIndexRequest {
            name: INDEX.to_owned(),
            schema: Some(titles_schema()),
        }))
        .await
        .expect("CreateIndex");
}

async fn delete(services: &Services, ids: &[&str]) -> Result<pb::DeleteResponse, tonic::Status> {
    services
        .ingest
        .delete(Request::new(pb::DeleteRequest {
            index: INDEX.to_owned(),
            ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn index_rpcs_name_the_name_field() {
    let services = start().await;
    let accented = "é".repeat(40);
    for name in ["", accented.as_str()] {
        let create = services
            .admin
            .create_index(Request::new(pb::CreateIndexRequest {
                name: name.to_owned(),
                schema: Some(titles_schema()),
            }))
            .await
            .expect_err("invalid name");
        assert_invalid(&create, "invalid name: ");
        let describe = services
            .admin
            .describe_index(Request::new(pb::DescribeIndexRequest {
                name: name.to_owned(),
            }))
            .await
            .expect_err("invalid name");
        assert_invalid(&describe, "invalid name: ");
        let drop = services
            .admin
            .drop_index(Request::new(pb::DropIndexRequest {
                name: name.to_owned(),
                delete_documents: false,
            }))
            .await
            .expect_err("invalid name");
        assert_invalid(&drop, "invalid name: ");
    }

    let create = services
        .admin
        .create_index(Request::new(pb::CreateIndexRequest {
            name: String::new(),
            schema: Some(titles_schema()),
        }))
        .await
        .expect_err("empty name");
    assert_eq!(
        create.message(),
        "invalid name: name is empty; set it to 1 to 64 characters from [A-Za-z0-9_-]"
    );
    let create = services
        .admin
        .create_index(Request::new(pb::CreateIndexRequest {
            name: accented.clone(),
            schema: Some(titles_schema()),
        }))
        .await
        .expect_err("accented name");
    assert!(
        create.message().contains("contains 'é'"),
        "a non-ASCII name is rejected for its characters, not for a length in bytes: {}",
        create.message()
    );
}

#[tokio::test]
async fn delete_rejects_invalid_ids() {
    let services = start().await;
    create_index(&services).await;

    let status = delete(&services, &[""]).await.expect_err("empty id");
    assert_invalid(&status, "invalid ids[0]: the id is empty");
    let long = "x".repeat(100 * 1024);
    let status = delete(&services, &["ok", &long])
        .await
        .expect_err("100 KB id");
    assert_invalid(&status, "invalid ids[1]: the id is 102400 bytes long");
    let status = delete(&services, &[]).await.expect_err("no ids");
    assert_invalid(&status, "invalid ids: the list is empty");

    let status = services
        .ingest
        .delete(Request::new(pb::DeleteRequest {
            index: "nope".to_owned(),
            ids: vec![String::new()],
        }))
        .await
        .expect_err("unknown index");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "the index is checked before the ids: {status:?}"
    );
}

#[tokio::test]
async fn delete_counts_repeated_ids_once() {
    let mut services = start().await;
    create_index(&services).await;
    let written = services
        .ingest
        .upsert(Request::new(pb::UpsertRequest {
            index: INDEX.to_owned(),
            documents: vec![
                titled("dd", "Chiral perturbation theory"),
                titled("twin", "Chiral perturbation theory"),
            ],
        }))
        .await
        .expect("Upsert")
        .into_inner();
    assert_eq!(written.num_written, 2);

    let response = delete(&services, &["dd", "dd"]).await.expect("Delete");
    assert_eq!(response.num_deleted, 1);
    assert!(
        response.missing_ids.is_empty(),
        "a repeated id is not missing: {:?}",
        response.missing_ids
    );

    let response = delete(&services, &["gone", "dd", "gone"])
        .await
        .expect("Delete");
    assert_eq!(response.num_deleted, 0);
    assert_eq!(response.missing_ids, ["gone", "dd"]);

    // The title is still carried by "twin", so it keeps one reference and stays suggested.
    let count: Option<i64> = redis::cmd("HGET")
        .arg(services.layout.suggestion_refs(INDEX))
        .arg("Chiral perturbation theory")
        .query_async(&mut services.connection)
        .await
        .expect("HGET");
    assert_eq!(count, Some(1));
    let suggestions: Vec<String> = redis::cmd("FT.SUGGET")
        .arg(services.layout.suggestions(INDEX))
        .arg("chi")
        .query_async(&mut services.connection)
        .await
        .expect("FT.SUGGET");
    assert_eq!(suggestions, ["Chiral perturbation theory"]);
}

#[tokio::test]
async fn upsert_rejects_empty_request() {
    let services = start().await;
    create_index(&services).await;
    let status = services
        .ingest
        .upsert(Request::new(pb::UpsertRequest {
            index: INDEX.to_owned(),
            documents: Vec::new(),
        }))
        .await
        .expect_err("no documents");
    assert_invalid(&status, "invalid documents: the request has no documents");

    let status = services
        .ingest
        .upsert(Request::new(pb::UpsertRequest {
            index: "nope".to_owned(),
            documents: Vec::new(),
        }))
        .await
        .expect_err("unknown index");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "the index is checked before the documents: {status:?}"
    );
}
