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

use common::{titled, titles_schema};

mod common;

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

/// Starts a server with an index "papers" whose `title` field feeds the suggestion dictionary. The
/// server stops when the returned `RedisServer` drops.
async fn start_papers() -> (
    RedisServer,
    redis::aio::ConnectionManager,
    KeyLayout,
    Ingestor,
) {
    let server = RedisServer::start();
    let config = server.redis_config();
    let connection = connection::connect(&config).expect("connect");
    let layout = KeyLayout::new(server.namespace()).expect("namespace");
    let catalog = Catalog::new(connection.clone(), layout.clone());
    let schema = Schema::from_proto(&titles_schema()).expect("schema");
    catalog.create("papers", schema).await.expect("create");
    let ingestor = Ingestor::new(catalog, connection.clone(), None, IngestConfig::default());
    (server, connection, layout, ingestor)
}

/// Reads the suggestions for `prefix` as (text, payload) pairs. The payload is the document id.
async fn suggestions_with_ids(
    connection: &mut redis::aio::ConnectionManager,
    layout: &KeyLayout,
    prefix: &str,
) -> Vec<(String, String)> {
    let reply: Vec<String> = redis::cmd("FT.SUGGET")
        .arg(layout.suggestions("papers"))
        .arg(prefix)
        .arg("WITHPAYLOADS")
        .arg("MAX")
        .arg(100)
        .query_async(connection)
        .await
        .expect("FT.SUGGET WITHPAYLOADS");
    reply
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

/// Counts the entries in the dictionary.
async fn dictionary_len(
    connection: &mut redis::aio::ConnectionManager,
    layout: &KeyLayout,
) -> usize {
    redis::cmd("FT.SUGLEN")
        .arg(layout.suggestions("papers"))
        .query_async(connection)
        .await
        .expect("FT.SUGLEN")
}

/// Reads the reference counts, which map each suggestion text to its number of documents.
async fn refs(
    connection: &mut redis::aio::ConnectionManager,
    layout: &KeyLayout,
) -> HashMap<String, i64> {
    redis::cmd("HGETALL")
        .arg(layout.suggestion_refs("papers"))
        .query_async(connection)
        .await
        .expect("HGETALL")
}

async fn write(ingestor: &Ingestor, documents: Vec<pb::Document>) {
    let num_documents = u32::try_from(documents.len()).expect("batch size fits u32");
    let outcome = ingestor
        .write_batch("papers", documents, false)
        .await
        .expect("write");
    assert_eq!(outcome.num_written, num_documents);
}

async fn delete(ingestor: &Ingestor, id: &str) {
    let outcome = ingestor
        .delete("papers", vec![id.to_owned()])
        .await
        .expect("delete");
    assert_eq!(outcome.num_deleted, 1, "document {id} was deleted");
}

fn counts(entries: &[(&str, i64)]) -> HashMap<String, i64> {
    entries
        .iter()
        .map(|(text, count)| ((*text).to_owned(), *count))
        .collect()
}

#[tokio::test]
async fn dictionary_follows_documents() {
    let (_server, mut connection, layout, ingestor) = start_papers().await;

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

#[tokio::test]
async fn padded_title_write_then_delete() {
    let (_server, mut connection, layout, ingestor) = start_papers().await;

    write(&ingestor, vec![titled("d8", "  Padded Title  ")]).await;
    assert_eq!(
        suggestions_with_ids(&mut connection, &layout, "Pad").await,
        [("Padded Title".to_owned(), "d8".to_owned())]
    );
    assert_eq!(
        refs(&mut connection, &layout).await,
        counts(&[("Padded Title", 1)])
    );

    delete(&ingestor, "d8").await;
    assert!(
        suggestions_with_ids(&mut connection, &layout, "Pad")
            .await
            .is_empty(),
        "the padded title left with its document"
    );
    assert_eq!(dictionary_len(&mut connection, &layout).await, 0);
    assert!(refs(&mut connection, &layout).await.is_empty());
}

#[tokio::test]
async fn padded_title_written_twice_then_deleted() {
    let (_server, mut connection, layout, ingestor) = start_papers().await;

    write(&ingestor, vec![titled("tw", "Twice padded ")]).await;
    write(&ingestor, vec![titled("tw", "Twice padded ")]).await;
    assert_eq!(
        refs(&mut connection, &layout).await,
        counts(&[("Twice padded", 1)]),
        "rewriting a document with the same title counts it once"
    );
    assert_eq!(
        suggestions_with_ids(&mut connection, &layout, "twi").await,
        [("Twice padded".to_owned(), "tw".to_owned())]
    );

    delete(&ingestor, "tw").await;
    assert!(
        suggestions_with_ids(&mut connection, &layout, "twi")
            .await
            .is_empty(),
        "the title left with its document"
    );
    assert_eq!(dictionary_len(&mut connection, &layout).await, 0);
    assert!(refs(&mut connection, &layout).await.is_empty());
}

#[tokio::test]
async fn title_replaced_by_padded_variant() {
    let (_server, mut connection, layout, ingestor) = start_papers().await;

    write(&ingestor, vec![titled("r", "Replaced title")]).await;
    for variant in ["\tReplaced title  ", " Replaced  title\n", "Replaced title"] {
        write(&ingestor, vec![titled("r", variant)]).await;
        assert_eq!(
            refs(&mut connection, &layout).await,
            counts(&[("Replaced title", 1)]),
            "after rewriting with {variant:?}"
        );
        assert_eq!(
            suggestions_with_ids(&mut connection, &layout, "rep").await,
            [("Replaced title".to_owned(), "r".to_owned())],
            "after rewriting with {variant:?}"
        );
    }

    write(&ingestor, vec![titled("r", "  Another title ")]).await;
    assert!(
        suggestions_with_ids(&mut connection, &layout, "rep")
            .await
            .is_empty(),
        "the replaced title left"
    );
    assert_eq!(
        refs(&mut connection, &layout).await,
        counts(&[("Another title", 1)])
    );

    delete(&ingestor, "r").await;
    assert_eq!(dictionary_len(&mut connection, &layout).await, 0);
    assert!(refs(&mut connection, &layout).await.is_empty());
}

#[tokio::test]
async fn nul_title_suggested_whole() {
    let (_server, mut connection, layout, ingestor) = start_papers().await;

    write(&ingestor, vec![titled("n", "Nulbyte\u{0}hidden")]).await;
    assert_eq!(
        suggestions_with_ids(&mut connection, &layout, "nul").await,
        [("Nulbyte hidden".to_owned(), "n".to_owned())],
        "the NUL byte becomes a space instead of ending the suggestion"
    );
    write(&ingestor, vec![titled("n", "Nulbyte\u{0}hidden")]).await;
    write(&ingestor, vec![titled("m", "Nulbyte hidden")]).await;
    assert_eq!(
        refs(&mut connection, &layout).await,
        counts(&[("Nulbyte hidden", 2)]),
        "both documents share one suggestion"
    );

    delete(&ingestor, "n").await;
    assert_eq!(
        suggestions_with_ids(&mut connection, &layout, "nul").await,
        [("Nulbyte hidden".to_owned(), "m".to_owned())],
        "the suggestion stays while document m carries it"
    );
    delete(&ingestor, "m").await;
    assert_eq!(dictionary_len(&mut connection, &layout).await, 0);
    assert!(refs(&mut connection, &layout).await.is_empty());
}

#[tokio::test]
async fn whitespace_and_controls_normalized() {
    let (_server, mut connection, layout, ingestor) = start_papers().await;
    let cases = [
        ("tab", "tab\tseparated", Some("tab separated")),
        ("crlf", "line\r\nbreak", Some("line break")),
        ("nbsp", "\u{a0}no-break\u{3000}", Some("no-break")),
        (
            "ideographic",
            "wide\u{3000}\u{2003}space",
            Some("wide space"),
        ),
        ("c1", "bell\u{7}\u{85}rings", Some("bell rings")),
        ("unicode", "  Ünïcode  tïtle ", Some("Ünïcode tïtle")),
        ("controls", "\u{1}\u{2} \u{7f}", None),
    ];
    let documents = cases
        .iter()
        .map(|(id, title, _)| titled(id, title))
        .collect();
    write(&ingestor, documents).await;

    let expected: Vec<(&str, i64)> = cases
        .iter()
        .filter_map(|(_, _, suggestion)| suggestion.map(|text| (text, 1)))
        .collect();
    assert_eq!(refs(&mut connection, &layout).await, counts(&expected));
    assert_eq!(
        dictionary_len(&mut connection, &layout).await,
        expected.len()
    );
    for (id, title, suggestion) in &cases {
        let Some(suggestion) = suggestion else {
            continue;
        };
        let prefix: String = suggestion.chars().take(3).collect();
        assert_eq!(
            suggestions_with_ids(&mut connection, &layout, &prefix).await,
            [((*suggestion).to_owned(), (*id).to_owned())],
            "title {title:?}"
        );
    }

    for (id, _, _) in &cases {
        delete(&ingestor, id).await;
    }
    assert_eq!(dictionary_len(&mut connection, &layout).await, 0);
    assert!(refs(&mut connection, &layout).await.is_empty());
}
