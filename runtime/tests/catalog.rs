//! The index catalog against a real Redis Stack.

use docsearch_proto::v1 as pb;
use docsearch_runtime::catalog::{Catalog, CatalogError};
use docsearch_runtime::connection::{self, RedactedUrl, check_ready};
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::schema::Schema;
use docsearch_runtime::testing::RedisServer;

fn schema() -> Schema {
    Schema::from_proto(&pb::IndexSchema {
        fields: vec![pb::FieldSchema {
            name: "title".to_owned(),
            index_missing: false,
            kind: Some(pb::field_schema::Kind::Text(pb::TextField::default())),
        }],
    })
    .expect("valid schema")
}

async fn catalog(server: &RedisServer) -> (Catalog, redis::aio::ConnectionManager) {
    let config = server.redis_config();
    let connection = connection::connect(&config).expect("connect");
    let layout = KeyLayout::new(server.namespace()).expect("namespace");
    (Catalog::new(connection.clone(), layout), connection)
}

#[tokio::test]
async fn catalog_lifecycle() {
    let server = RedisServer::start();
    let (catalog, mut connection) = catalog(&server).await;
    check_ready(&mut connection, &RedactedUrl::new(server.url()))
        .await
        .expect("Redis Stack is ready");

    let created = catalog.create("papers", schema()).await.expect("create");
    assert_eq!(created.schema, schema());
    assert!(matches!(
        catalog.create("papers", schema()).await,
        Err(CatalogError::IndexExists(name)) if name == "papers"
    ));
    assert_eq!(catalog.get("papers").await.expect("get"), created);
    let names: Vec<String> = catalog
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    assert_eq!(names, ["papers"]);
    let stats = catalog.stats("papers").await.expect("stats");
    assert_eq!(stats.num_documents, 0);
    assert!(!stats.indexing);

    catalog.drop_index("papers", true).await.expect("drop");
    assert!(matches!(
        catalog.get("papers").await,
        Err(CatalogError::IndexNotFound(_))
    ));
    assert!(matches!(
        catalog.drop_index("papers", true).await,
        Err(CatalogError::IndexNotFound(_))
    ));
    assert!(matches!(
        catalog.stats("papers").await,
        Err(CatalogError::IndexNotFound(_))
    ));
}

#[tokio::test]
async fn rejected_schema_releases_name() {
    let server = RedisServer::start();
    let (catalog, _) = catalog(&server).await;
    // Redis itself creates this index first, so FT.CREATE of the catalog fails.
    let layout = KeyLayout::new(server.namespace()).expect("namespace");
    let mut direct = redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("FT.CREATE")
        .arg(layout.search_index("taken"))
        .arg("SCHEMA")
        .arg("x")
        .arg("TEXT")
        .query_async(&mut direct)
        .await
        .expect("FT.CREATE");

    assert!(matches!(
        catalog.create("taken", schema()).await,
        Err(CatalogError::IndexExists(_))
    ));
    assert!(
        catalog.list().await.expect("list").is_empty(),
        "the failed creation left no entry"
    );
}
