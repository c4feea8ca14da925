//! Compiles the .proto contracts with protox, a pure-Rust compiler, so that no `protoc` is needed,
//! and writes the encoded descriptor set next to the generated code for gRPC server reflection.

use std::path::PathBuf;

use prost::Message;

const PROTO_FILES: &[&str] = &[
    "docsearch/v1/document.proto",
    "docsearch/v1/schema.proto",
    "docsearch/v1/filter.proto",
    "docsearch/v1/index_service.proto",
    "docsearch/v1/ingest_service.proto",
    "docsearch/v1/search_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let file_descriptors = protox::compile(PROTO_FILES, [&proto_root])?;
    let descriptor_bytes = file_descriptors.encode_to_vec();
    std::fs::write(out_dir.join("docsearch_descriptor.bin"), &descriptor_bytes)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(file_descriptors)?;

    if std::env::var_os("CARGO_FEATURE_JSON").is_some() {
        pbjson_build::Builder::new()
            .register_descriptors(&descriptor_bytes)?
            .build(&[".docsearch"])?;
    }

    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    Ok(())
}
