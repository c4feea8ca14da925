//! Integration tests of the searcher against a real Redis Stack, one server per test.

mod common;
mod get;
mod grpc;
mod knn;
mod tags;
