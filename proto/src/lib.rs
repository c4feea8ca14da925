//! Protobuf contracts shared by the docsearch indexer, searcher and their clients.
//!
//! The `.proto` sources live in `docsearch/v1/` next to this crate and are compiled at build time.
//! [`FILE_DESCRIPTOR_SET`] carries them encoded, for gRPC server reflection. With the `json` feature every
//! message also implements serde's traits following the proto3 JSON mapping, the JSON grpcurl speaks.

/// Messages and services of the `docsearch.v1` package.
pub mod v1 {
    tonic::include_proto!("docsearch.v1");

    #[cfg(feature = "json")]
    include!(concat!(env!("OUT_DIR"), "/docsearch.v1.serde.rs"));
}

/// The encoded `FileDescriptorSet` of every docsearch `.proto` file.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("docsearch_descriptor");
