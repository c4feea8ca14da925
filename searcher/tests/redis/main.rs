//! Integration tests of the searcher against a real Redis Stack, one server per test.

mod common;
mod facets;
mod get;
mod grpc;
mod hybrid;
mod indexed_words;
mod knn;
mod range;
mod stemmed;
mod suggest;
mod tags;
mod text;
