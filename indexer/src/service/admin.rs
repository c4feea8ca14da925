//! gRPC adapter of `docsearch.v1.IndexService`: validate the request, call the catalog, map the result.

use docsearch_proto::v1 as pb;
use docsearch_proto::v1::index_service_server::IndexService;
use docsearch_runtime::catalog::{Catalog, IndexEntry, IndexStats};
use docsearch_runtime::keys::check_index_name_in;
use docsearch_runtime::schema::Schema;
use tonic::{Request, Response, Status};
use tracing::info;

use crate::error::IndexerError;
use docsearch_embed::SharedEmbedder;

pub struct IndexAdmin {
    catalog: Catalog,
    embedder: Option<SharedEmbedder>,
}

impl IndexAdmin {
    pub fn new(catalog: Catalog, embedder: Option<SharedEmbedder>) -> Self {
        Self { catalog, embedder }
    }

    async fn create(
        &self,
        name: &str,
        schema: Option<pb::IndexSchema>,
    ) -> Result<IndexEntry, IndexerError> {
        check_index_name_in("name", name).map_err(IndexerError::InvalidArgument)?;
        let Some(schema) = schema else {
            return Err(IndexerError::invalid(
                "schema",
                "the request has no schema; send the index fields",
            ));
        };
        let mut schema = Schema::from_proto(&schema)
            .map_err(|error| IndexerError::InvalidArgument(error.within("schema")))?;
        self.check_embedding_model(&mut schema)?;
        let entry = self
            .catalog
            .create(name, schema)
            .await
            .map_err(|error| IndexerError::catalog("creating the index", error))?;
        info!(index = name, "index created");
        Ok(entry)
    }

    /// Checks that fields which embed their source text can be embedded by this indexer, and records the
    /// model on them.
    fn check_embedding_model(&self, schema: &mut Schema) -> Result<(), IndexerError> {
        for (position, field) in schema.fields().iter().enumerate() {
            let docsearch_runtime::schema::FieldKind::Vector(options) = &field.kind else {
                continue;
            };
            if options.embedding_source_fields.is_empty() {
                continue;
            }
            let path = format!("schema.fields[{position}].vector");
            match &self.embedder {
                None if options.model.is_empty() => {
                    return Err(IndexerError::FailedPrecondition(format!(
                        "{path} embeds {} but the indexer has no embedding model to record; configure embedding.model_dir (DOCSEARCH__EMBEDDING__MODEL_DIR), or name the model that produces the vectors you will send",
                        options.embedding_source_fields.join(", ")
                    )));
                }
                None => {}
                Some(embedder) => {
                    if options.dimension != embedder.dimension() {
                        return Err(IndexerError::invalid(
                            format!("{path}.dimension"),
                            format!(
                                "{} does not match model {:?}, which produces {} dimensions; set dimension to {}",
                                options.dimension,
                                embedder.model_name(),
                                embedder.dimension(),
                                embedder.dimension()
                            ),
                        ));
                    }
                    if !options.model.is_empty() && options.model != embedder.model_name() {
                        return Err(IndexerError::FailedPrecondition(format!(
                            "{path}.model is {:?} but this indexer embeds with {:?}; leave model empty to use {:?}, or run an indexer with that model",
                            options.model,
                            embedder.model_name(),
                            embedder.model_name()
                        )));
                    }
                }
            }
        }
        if let Some(embedder) = &self.embedder {
            schema.record_embedding_model(embedder.model_name());
        }
        Ok(())
    }

    async fn describe(&self, name: &str) -> Result<pb::IndexInfo, IndexerError> {
        check_index_name_in("name", name).map_err(IndexerError::InvalidArgument)?;
        let entry = self
            .catalog
            .get(name)
            .await
            .map_err(|error| IndexerError::catalog("reading the index catalog", error))?;
        let stats = self
            .catalog
            .stats(name)
            .await
            .map_err(|error| IndexerError::catalog("reading the index statistics", error))?;
        Ok(index_info(&self.catalog, entry, stats))
    }
}

fn index_info(catalog: &Catalog, entry: IndexEntry, stats: IndexStats) -> pb::IndexInfo {
    let IndexStats {
        num_documents,
        indexing,
        percent_indexed,
        num_indexing_failures,
        memory_bytes,
        vector_memory_bytes,
    } = stats;
    pb::IndexInfo {
        key_prefix: catalog.layout().document_prefix(&entry.name),
        name: entry.name,
        schema: Some(entry.schema.to_proto()),
        num_documents,
        indexing,
        percent_indexed,
        num_indexing_failures,
        memory_bytes,
        vector_memory_bytes,
        created_at_ms: entry.created_at_ms,
    }
}

#[tonic::async_trait]
impl IndexService for IndexAdmin {
    async fn create_index(
        &self,
        request: Request<pb::CreateIndexRequest>,
    ) -> Result<Response<pb::CreateIndexResponse>, Status> {
        let pb::CreateIndexRequest { name, schema } = request.into_inner();
        let entry = self.create(&name, schema).await?;
        let stats = IndexStats {
            percent_indexed: 1.0,
            ..IndexStats::default()
        };
        Ok(Response::new(pb::CreateIndexResponse {
            index: Some(index_info(&self.catalog, entry, stats)),
        }))
    }

    async fn describe_index(
        &self,
        request: Request<pb::DescribeIndexRequest>,
    ) -> Result<Response<pb::DescribeIndexResponse>, Status> {
        let pb::DescribeIndexRequest { name } = request.into_inner();
        let index = self.describe(&name).await?;
        Ok(Response::new(pb::DescribeIndexResponse {
            index: Some(index),
        }))
    }

    async fn list_indexes(
        &self,
        request: Request<pb::ListIndexesRequest>,
    ) -> Result<Response<pb::ListIndexesResponse>, Status> {
        let pb::ListIndexesRequest {} = request.into_inner();
        let entries = self
            .catalog
            .list()
            .await
            .map_err(|error| IndexerError::catalog("listing the indexes", error))?;
        let mut indexes = Vec::with_capacity(entries.len());
        for entry in entries {
            let stats =
                self.catalog.stats(&entry.name).await.map_err(|error| {
                    IndexerError::catalog("reading the index statistics", error)
                })?;
            indexes.push(index_info(&self.catalog, entry, stats));
        }
        Ok(Response::new(pb::ListIndexesResponse { indexes }))
    }

    async fn drop_index(
        &self,
        request: Request<pb::DropIndexRequest>,
    ) -> Result<Response<pb::DropIndexResponse>, Status> {
        let pb::DropIndexRequest {
            name,
            delete_documents,
        } = request.into_inner();
        check_index_name_in("name", &name).map_err(IndexerError::InvalidArgument)?;
        self.catalog
            .drop_index(&name, delete_documents)
            .await
            .map_err(|error| IndexerError::catalog("dropping the index", error))?;
        info!(index = name, delete_documents, "index dropped");
        Ok(Response::new(pb::DropIndexResponse {}))
    }
}
