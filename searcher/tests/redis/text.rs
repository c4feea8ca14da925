//! TEXT queries against a real Redis Stack: which documents match exact and misspelled words, how
//! fields, weights and match_all change the matches and their order, and highlights, sorting, paging
//! and counting.

use std::collections::BTreeSet;

use docsearch_proto::v1 as pb;
use tonic::Code;

use crate::common::{Fixture, exact_text_field, hit_ids, numeric_field};

const INDEX: &str = "texts";

/// Id, title, body and year of each document. Both TEXT fields are NOSTEM, so the index contains words
/// only as written. RediSearch still expands a query word to its stem, so "networks" also matches
/// "network", but not the misspelled "netwerks".
const DOCUMENTS: [(&str, &str, &str, f64); 6] = [
    ("a", "graph networks", "learning on graphs", 2019.0),
    ("b", "network science", "graph theory of networks", 2001.0),
    ("c", "neural machine translation", "attention", 2017.0),
    ("d", "grapes and wine", "harvest", 1990.0),
    ("e", "quantum networks", "entanglement distribution", 2012.0),
    ("f", "netwerks", "hubs", 2005.0),
];

async fn fixture() -> Fixture {
    let schema = pb::IndexSchema {
        fields: vec![
            exact_text_field("title", false, false),
            exact_text_field("body", false, false),
            numeric_field("year"),
        ],
    };
    let fixture = Fixture::start(INDEX, schema).await;
    for (id, title, body, year) in DOCUMENTS {
        fixture
            .put(
                INDEX,
                id,
                &[
                    ("title", title.as_bytes().to_vec()),
                    ("body", body.as_bytes().to_vec()),
                    ("year", year.to_string().into_bytes()),
                ],
            )
            .await;
    }
    fixture
}

fn text_request(text: &str, options: pb::TextOptions) -> pb::SearchRequest {
    pb::SearchRequest {
        index: INDEX.to_owned(),
        mode: pb::SearchMode::Text as i32,
        text: text.to_owned(),
        text_options: Some(options),
        k: 10,
        ..pb::SearchRequest::default()
    }
}

fn exact() -> pb::TextOptions {
    pb::TextOptions {
        fuzzy_distance: Some(0),
        ..pb::TextOptions::default()
    }
}

async fn matched(fixture: &Fixture, request: pb::SearchRequest) -> BTreeSet<String> {
    let response = fixture.search(request).await.unwrap();
    assert_eq!(
        response.total as usize,
        response.hits.len(),
        "total counts the matches"
    );
    response.hits.into_iter().map(|hit| hit.id).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

#[tokio::test]
async fn exact_word_matches_fields() {
    let fixture = fixture().await;
    let ids = matched(&fixture, text_request("graph", exact())).await;
    assert_eq!(ids, set(&["a", "b"]));
}

#[tokio::test]
async fn any_word_matches_by_default() {
    let fixture = fixture().await;
    let ids = matched(&fixture, text_request("attention harvest", exact())).await;
    assert_eq!(ids, set(&["c", "d"]));
}

#[tokio::test]
async fn all_words_match_with_option() {
    let fixture = fixture().await;
    let options = pb::TextOptions {
        match_all_terms: true,
        ..exact()
    };
    let ids = matched(&fixture, text_request("graph networks", options)).await;
    assert_eq!(ids, set(&["a", "b"]));
}

#[tokio::test]
async fn more_matching_words_rank_higher() {
    let fixture = fixture().await;
    let response = fixture
        .search(text_request("graph theory networks", exact()))
        .await
        .unwrap();
    assert_eq!(
        response.hits[0].id,
        "b",
        "b holds all three words: {:?}",
        hit_ids(&response)
    );
}

#[tokio::test]
async fn substituted_letter_matches_by_default() {
    let fixture = fixture().await;
    let ids = matched(&fixture, text_request("graoh", pb::TextOptions::default())).await;
    assert_eq!(ids, set(&["a", "b"]));
}

#[tokio::test]
async fn short_word_transposition_misses() {
    let fixture = fixture().await;
    // "grpah" is two edits from "graph", and five-letter words get distance 1.
    let ids = matched(&fixture, text_request("grpah", pb::TextOptions::default())).await;
    assert!(ids.is_empty(), "{ids:?}");
}

#[tokio::test]
async fn long_word_transposition_matches() {
    let fixture = fixture().await;
    let ids = matched(
        &fixture,
        text_request("netwroks", pb::TextOptions::default()),
    )
    .await;
    assert_eq!(ids, set(&["a", "b", "e", "f"]));
}

#[tokio::test]
async fn correction_ranks_meant_word_first() {
    let fixture = fixture().await;
    // "netwroks" is two edits from both "networks" (a, b, e) and "netwerks" (f). The index's spelling
    // suggestion is the more frequent "networks", so f, which only comes near, ranks last.
    let response = fixture
        .search(text_request("netwroks", pb::TextOptions::default()))
        .await
        .unwrap();
    let ids = hit_ids(&response);
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[3], "f", "the rarer near word ranks last: {ids:?}");
}

#[tokio::test]
async fn filter_keeps_text_ranking() {
    let fixture = fixture().await;
    let unfiltered = fixture
        .search(text_request("graph networks science", exact()))
        .await
        .unwrap();
    let mut request = text_request("graph networks science", exact());
    request.filter = Some(pb::Filter {
        condition: Some(pb::filter::Condition::NumericRange(pb::NumericRange {
            field: "year".to_owned(),
            min: Some(pb::NumericBound {
                value: 1900.0,
                exclusive: false,
            }),
            max: None,
        })),
    });
    let filtered = fixture.search(request).await.unwrap();
    assert_eq!(
        hit_ids(&filtered),
        hit_ids(&unfiltered),
        "a filter that every document passes keeps the order"
    );
    for (with_filter, without) in filtered.hits.iter().zip(&unfiltered.hits) {
        assert!(
            (with_filter.score - without.score).abs() < 1e-9,
            "{}: score {} with the filter, {} without",
            with_filter.id,
            with_filter.score,
            without.score
        );
    }
}

#[tokio::test]
async fn fuzzy_off_misses_typo() {
    let fixture = fixture().await;
    let ids = matched(&fixture, text_request("graoh", exact())).await;
    assert!(ids.is_empty(), "{ids:?}");
}

#[tokio::test]
async fn forced_distance_reaches_further() {
    let fixture = fixture().await;
    let options = pb::TextOptions {
        fuzzy_distance: Some(2),
        ..pb::TextOptions::default()
    };
    let ids = matched(&fixture, text_request("grpah", options)).await;
    assert!(ids.contains("a"), "{ids:?}");
}

#[tokio::test]
async fn exact_match_outranks_fuzzy() {
    let fixture = fixture().await;
    // "networks" matches "netwerks" (f) at distance 1, but a, b and e contain the word itself.
    let response = fixture
        .search(text_request("networks", pb::TextOptions::default()))
        .await
        .unwrap();
    let ids = hit_ids(&response);
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[3], "f", "the fuzzy-only match ranks last: {ids:?}");
}

#[tokio::test]
async fn restricted_fields_limit_matches() {
    let fixture = fixture().await;
    let options = pb::TextOptions {
        fields: vec!["title".to_owned()],
        ..exact()
    };
    let ids = matched(&fixture, text_request("graph", options)).await;
    assert_eq!(ids, set(&["a"]));
}

#[tokio::test]
async fn field_weight_reorders_hits() {
    let fixture = fixture().await;
    let weighted = |field: &str| pb::TextOptions {
        field_weights: [(field.to_owned(), 50.0)].into_iter().collect(),
        ..exact()
    };
    // "graph" is in the title of a and in the body of b.
    let body_first = fixture
        .search(text_request("graph", weighted("body")))
        .await
        .unwrap();
    assert_eq!(body_first.hits[0].id, "b", "{:?}", hit_ids(&body_first));
    let title_first = fixture
        .search(text_request("graph", weighted("title")))
        .await
        .unwrap();
    assert_eq!(title_first.hits[0].id, "a", "{:?}", hit_ids(&title_first));
}

#[tokio::test]
async fn lone_word_weight_applies() {
    let fixture = fixture().await;
    let plain = fixture
        .search(text_request("graph", exact()))
        .await
        .unwrap();
    let options = pb::TextOptions {
        fields: vec!["title".to_owned(), "body".to_owned()],
        field_weights: [("title".to_owned(), 4.0)].into_iter().collect(),
        ..exact()
    };
    let weighted = fixture
        .search(text_request("graph", options))
        .await
        .unwrap();
    let score = |response: &pb::SearchResponse, id: &str| {
        response
            .hits
            .iter()
            .find(|hit| hit.id == id)
            .map(|hit| hit.score)
            .unwrap()
    };
    assert!(
        (score(&weighted, "a") - 4.0 * score(&plain, "a")).abs() < 1e-6,
        "a matches in the title only, so weight 4 multiplies its score: {} vs {}",
        score(&weighted, "a"),
        score(&plain, "a")
    );
    assert!(
        (score(&weighted, "b") - score(&plain, "b")).abs() < 1e-6,
        "b matches in the body only, so its score stays"
    );
}

#[tokio::test]
async fn hits_carry_text_score() {
    let fixture = fixture().await;
    let response = fixture
        .search(text_request("graph", exact()))
        .await
        .unwrap();
    for hit in &response.hits {
        assert!(hit.score > 0.0, "{hit:?}");
        assert_eq!(hit.text_score, Some(hit.score), "{hit:?}");
        assert_eq!(hit.distance, None);
    }
    assert_eq!(response.mode, pb::SearchMode::Text as i32);
}

#[tokio::test]
async fn highlight_marks_matched_words() {
    let fixture = fixture().await;
    let options = pb::TextOptions {
        highlight: true,
        ..exact()
    };
    let mut request = text_request("graph", options);
    request.return_fields = vec!["title".to_owned(), "year".to_owned()];
    let response = fixture.search(request).await.unwrap();
    let a = response.hits.iter().find(|hit| hit.id == "a").unwrap();
    assert_eq!(a.highlights["title"], "<b>graph</b> networks");
    assert!(
        !a.highlights.contains_key("body"),
        "the body of a does not match: {:?}",
        a.highlights
    );
    assert_eq!(
        a.fields["title"].kind,
        Some(pb::field_value::Kind::Text("graph networks".to_owned())),
        "the returned field stays plain"
    );
    let b = response.hits.iter().find(|hit| hit.id == "b").unwrap();
    assert_eq!(b.highlights["body"], "<b>graph</b> theory of networks");
}

#[tokio::test]
async fn fuzzy_match_highlighted() {
    let fixture = fixture().await;
    let options = pb::TextOptions {
        highlight: true,
        fields: vec!["title".to_owned()],
        ..pb::TextOptions::default()
    };
    let response = fixture
        .search(text_request("quantun", options))
        .await
        .unwrap();
    assert_eq!(hit_ids(&response), ["e"]);
    assert_eq!(
        response.hits[0].highlights["title"],
        "<b>quantum</b> networks"
    );
}

#[tokio::test]
async fn sort_by_year_orders_matches() {
    let fixture = fixture().await;
    let mut request = text_request("networks network", exact());
    request.sort_by = Some(pb::SortBy {
        field: "year".to_owned(),
        descending: true,
    });
    let response = fixture.search(request).await.unwrap();
    assert_eq!(hit_ids(&response), ["a", "e", "b"]);
}

#[tokio::test]
async fn pages_partition_results() {
    let fixture = fixture().await;
    let all = fixture
        .search(text_request("networks network graph", exact()))
        .await
        .unwrap();
    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let mut request = text_request("networks network graph", exact());
        request.k = 2;
        request.offset = offset;
        let page = fixture.search(request).await.unwrap();
        assert_eq!(page.total, all.total, "every page counts every match");
        paged.extend(page.hits.into_iter().map(|hit| hit.id));
    }
    let all_ids: Vec<String> = all.hits.into_iter().map(|hit| hit.id).collect();
    assert_eq!(paged, all_ids);
}

#[tokio::test]
async fn count_only_counts_matches() {
    let fixture = fixture().await;
    let mut request = text_request("networks", exact());
    request.count_only = true;
    request.k = 0;
    let response = fixture.search(request).await.unwrap();
    assert_eq!(response.total, 3);
    assert!(response.hits.is_empty());
}

#[tokio::test]
async fn filter_narrows_matches() {
    let fixture = fixture().await;
    let mut request = text_request("networks", exact());
    request.filter = Some(pb::Filter {
        condition: Some(pb::filter::Condition::NumericRange(pb::NumericRange {
            field: "year".to_owned(),
            min: Some(pb::NumericBound {
                value: 2010.0,
                exclusive: false,
            }),
            max: None,
        })),
    });
    let ids = matched(&fixture, request).await;
    assert_eq!(ids, set(&["a", "e"]));
}

#[tokio::test]
async fn query_syntax_in_text_is_literal() {
    let fixture = fixture().await;
    for text in [
        "@title:graph",
        "graph | -wine",
        "(graph) => {$weight: 9}",
        "%%graph%% \"networks\" 'x' {y} [1 2] ~z *w* $K \\",
    ] {
        let response = fixture
            .search(text_request(text, pb::TextOptions::default()))
            .await;
        assert!(response.is_ok(), "{text:?}: {response:?}");
    }
}

#[tokio::test]
async fn unknown_index_is_not_found() {
    let fixture = fixture().await;
    let mut request = text_request("graph", exact());
    request.index = "nope".to_owned();
    fixture.search_error(request, Code::NotFound).await;
}
