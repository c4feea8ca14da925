//! A Redis Stack server with one index, written directly with redis-rs, and a searcher over it.

use std::time::Duration;

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::search_service_server::SearchService;
use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::connection;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::schema::Schema;
use docsearch_runtime::testing::RedisServer;
use docsearch_searcher::Searcher;
use docsearch_searcher::config::{SearchConfig, SearcherConfig};
use docsearch_searcher::service::SearchHandler;
use redis::aio::ConnectionManager;
use tonic::{Code, Request, Status};

/// A server, an index created through the catalog, and a handler of SearchService over it.
pub struct Fixture {
    pub server: RedisServer,
    pub connection: ConnectionManager,
    pub layout: KeyLayout,
    pub handler: SearchHandler,
}

impl Fixture {
    /// Starts a server and creates `index` with `schema`.
    pub async fn start(index: &str, schema: pb::IndexSchema) -> Fixture {
        let server = RedisServer::start();
        let redis = server.redis_config();
        let connection = connection::connect(&redis).unwrap();
        let layout = KeyLayout::new(server.namespace()).unwrap();
        let catalog = Catalog::new(connection.clone(), layout.clone());
        catalog
            .create(index, Schema::from_proto(&schema).unwrap())
            .await
            .unwrap();
        wait_for_initial_scan(&mut connection.clone(), &layout.search_index(index)).await;
        let searcher = Searcher::new(catalog, connection.clone(), SearchConfig::default(), None);
        Fixture {
            server,
            connection,
            layout,
            handler: SearchHandler::new(searcher),
        }
    }

    /// Writes one document hash; RediSearch indexes it before HSET returns.
    pub async fn put(&self, index: &str, id: &str, fields: &[(&str, Vec<u8>)]) {
        let mut command = redis::cmd("HSET");
        command.arg(self.layout.document_key(index, id));
        for (name, value) in fields {
            command.arg(*name).arg(value.as_slice());
        }
        let () = command
            .query_async(&mut self.connection.clone())
            .await
            .unwrap();
    }

    pub async fn search(&self, request: pb::SearchRequest) -> Result<pb::SearchResponse, Status> {
        self.handler
            .search(Request::new(request))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn suggest(
        &self,
        request: pb::SuggestRequest,
    ) -> Result<pb::SuggestResponse, Status> {
        self.handler
            .suggest(Request::new(request))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn get(&self, request: pb::GetRequest) -> Result<pb::GetResponse, Status> {
        self.handler
            .get(Request::new(request))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Runs a search that must fail, and returns its status.
    pub async fn search_error(&self, request: pb::SearchRequest, code: Code) -> Status {
        match self.search(request).await {
            Ok(response) => panic!("expected {code:?}, got {response:?}"),
            Err(status) => {
                assert_eq!(status.code(), code, "{}", status.message());
                status
            }
        }
    }
}

/// Waits until RediSearch finishes the scan of existing keys that FT.CREATE starts. A document written
/// during the scan is indexed twice, and until garbage collection the statistics of BM25 count it twice,
/// so scores would change from one query to the next.
async fn wait_for_initial_scan(connection: &mut ConnectionManager, search_index: &str) {
    for _ in 0..500 {
        let info: Vec<redis::Value> = redis::cmd("FT.INFO")
            .arg(search_index)
            .query_async(connection)
            .await
            .unwrap();
        let indexing = info.chunks(2).find(|pair| {
            matches!(&pair[0], redis::Value::SimpleString(name) if name == "indexing")
                || matches!(&pair[0], redis::Value::BulkString(name) if name == b"indexing")
        });
        let done = match indexing {
            Some([_, redis::Value::Int(0)]) => true,
            Some([_, redis::Value::BulkString(value)]) => value == b"0",
            Some([_, redis::Value::SimpleString(value)]) => value == "0",
            _ => false,
        };
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("RediSearch did not finish the initial scan of {search_index} within 5 s");
}

/// Builds a searcher configuration for a test server, listening on a free loopback port.
pub fn searcher_config(server: &RedisServer) -> SearcherConfig {
    let mut config = SearcherConfig::default();
    config.server.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.server.health_check_interval = Duration::from_millis(100);
    config.server.shutdown_grace_period = Duration::from_secs(2);
    config.redis = server.redis_config();
    config
}

pub fn text_field(name: &str) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Text(pb::TextField::default())),
    }
}

/// Builds a TEXT field without stemming, so that the index contains words only as written.
pub fn exact_text_field(name: &str, sortable: bool, suggest: bool) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Text(pb::TextField {
            weight: 0.0,
            no_stem: true,
            sortable,
            suggest,
        })),
    }
}

/// Returns the ids of hits, in order.
pub fn hit_ids(response: &pb::SearchResponse) -> Vec<&str> {
    response.hits.iter().map(|hit| hit.id.as_str()).collect()
}

pub fn tag_field(
    name: &str,
    separator: &str,
    case_sensitive: bool,
    index_missing: bool,
) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing,
        kind: Some(pb::field_schema::Kind::Tag(pb::TagField {
            separator: separator.to_owned(),
            case_sensitive,
            sortable: false,
        })),
    }
}

pub fn numeric_field(name: &str) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Numeric(pb::NumericField {
            sortable: true,
        })),
    }
}

pub fn vector_field(
    name: &str,
    dimension: u32,
    algorithm: pb::VectorAlgorithm,
    metric: pb::DistanceMetric,
) -> pb::FieldSchema {
    pb::FieldSchema {
        name: name.to_owned(),
        index_missing: false,
        kind: Some(pb::field_schema::Kind::Vector(pb::VectorField {
            algorithm: algorithm as i32,
            dimension,
            metric: metric as i32,
            data_type: 0,
            m: 0,
            ef_construction: 0,
            ef_runtime: 0,
            model: String::new(),
            embedding_source_fields: Vec::new(),
        })),
    }
}

/// A deterministic xorshift generator, so that failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Returns a value in [-1, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}
