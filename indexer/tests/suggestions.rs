//! The suggestion dictionary follows writes, replacements and deletes, against a real Redis Stack.

use std::collections::HashMap;

use docsearch_indexer::config::IngestConfig;
use docsearch_indexer::ingest::Ingestor;
use docsearch_proto::v1 as pb;
use docsearch_runtime::catalog::Catalog;
use docsearch_runtime::connection;
use docsearch_runtime::keys::KeyLayout;
use docsearch_runtime::schema::Schema;
use docsearch_runtime::testing::RedisServer;

fn titled(id: &str, title: &str) -> pb::Document {
    let mut fields = HashMap::new();
    fields.insert(
        "title".to_owned(),
        pb::FieldValue {
            kind: Some(pb::field_value::Kind::Text(title.to_owned())),
        },
    );
    pb::Document {
        id: id.to_owned(),
        fields,
        vectors: HashMap::new(),
    }
}

async fn suggestions(
    connection: &mut redis::aio::ConnectionManager,
    layout: &KeyLayout,
    prefix: &str,
) -> Vec<String> {
    redis::cmd("FT.SUGGET")
        .arg(layout.suggestions("papers"))
        .arg(prefix)
        .arg("MAX")
        .arg(100)
        .query_async(connection)
        .await
        .expect("FT.SUGGET")
}

#[tokio::test]
async fn dictionary_follows_documents() {
    let server = RedisServer::start();
    let config = server.redis_config();
    let mut connection = connection::connect(&config).expect("connect");
    let layout = KeyLayout::new(server.namespace()).expect("namespace");
    let catalog = Catalog::new(connection.clone(), layout.clone());
    let schema = Schema::from_proto(&pb::IndexSchema {
        fields: vec![pb::FieldSchema {
            name: "title".to_owned(),
            index_missing: false,
            kind: Some(pb::field_schema::Kind::Text(pb::TextField {
                suggest: true,
                ..Default::default()
            })),
        }],
    })
    .expect("schema");
    catalog.create("papers", schema).await.expect("create");
    let ingestor = Ingestor::new(catalog, connection.clone(), None, IngestConfig::default());

    let outcome = ingestor
        .write_batch(
            "papers",
            vec![
                titled("a", "Chiral perturbation theory"),
                titled("b", "Chiral perturbation theory"),
                titled("c", "Chaos in billiards"),
                titled("long", &"x".repeat(300)),
            ],
            false,
        )
        .await
        .expect("write");
    assert_eq!(outcome.num_written, 4);
    assert_eq!(
        suggestions(&mut connection, &layout, "chi").await,
        ["Chiral perturbation theory"]
    );
    assert!(
        suggestions(&mut connection, &layout, "xxx")
            .await
            .is_empty(),
        "titles over 255 characters are left out"
    );

    ingestor
        .delete("papers", vec!["a".to_owned()])
        .await
        .expect("delete a");
    assert_eq!(
        suggestions(&mut connection, &layout, "chi").await,
        ["Chiral perturbation theory"],
        "a title stays while another document carries it"
    );
    ingestor
        .delete("papers", vec!["b".to_owned()])
        .await
        .expect("delete b");
    assert!(
        suggestions(&mut connection, &layout, "chi")
            .await
            .is_empty(),
        "the last document took its title along"
    );

    ingestor
        .write_batch(
            "papers",
            vec![titled("c", "Quantum chaos in billiards")],
            false,
        )
        .await
        .expect("rewrite");
    assert!(
        suggestions(&mut connection, &layout, "chaos")
            .await
            .is_empty(),
        "a replaced title leaves"
    );
    assert_eq!(
        suggestions(&mut connection, &layout, "quan").await,
        ["Quantum chaos in billiards"]
    );

    ingestor
        .delete("papers", vec!["long".to_owned()])
        .await
        .expect("delete long");
    let num_refs: usize = redis::cmd("HLEN")
        .arg(layout.suggestion_refs("papers"))
        .query_async(&mut connection)
        .await
        .expect("HLEN");
    assert_eq!(num_refs, 1, "only the remaining title is counted");
}
