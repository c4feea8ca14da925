//! gRPC adapters: each RPC validates its request, calls the domain code and maps the result.

pub mod admin;
pub mod ingest;
