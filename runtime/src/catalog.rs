//! The index catalog: which indexes exist, their schemas and their RediSearch state.
//!
//! An index is a catalog entry (a hash holding the encoded schema) plus a RediSearch index over the
//! document hashes. Creation claims the name in the catalog set first, so two concurrent creations of one
//! name cannot both succeed; a failed FT.CREATE releases the claim.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use docsearch_proto::v1 as pb;
use prost::Message;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Value};

use crate::keys::KeyLayout;
use crate::schema::Schema;
use crate::validate::InvalidValue;

/// Longest wait for RediSearch's scan of existing keys after FT.CREATE. The scan visits every key of the
/// database, so it takes longer in a large Redis.
pub const INITIAL_SCAN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Version of the catalog entry layout, stored with each entry.
const ENTRY_FORMAT: u32 = 1;

/// Errors of catalog operations.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("index {0:?} not found")]
    IndexNotFound(String),
    #[error("index {0:?} already exists")]
    IndexExists(String),
    /// RediSearch rejected the schema, as when it exceeds a server limit.
    #[error("{0}")]
    SchemaRejected(InvalidValue),
    #[error("catalog entry of index {index:?} is unreadable: {reason}")]
    CorruptEntry { index: String, reason: String },
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

/// An index as recorded in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub name: String,
    pub schema: Schema,
    pub created_at_ms: i64,
}

/// RediSearch's view of an index (FT.INFO).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexStats {
    pub num_documents: u64,
    pub indexing: bool,
    /// From 0 to 1.
    pub percent_indexed: f64,
    pub num_indexing_failures: u64,
    pub memory_bytes: u64,
    pub vector_memory_bytes: u64,
}

/// Reads and writes the catalog of one namespace.
#[derive(Clone)]
pub struct Catalog {
    connection: ConnectionManager,
    layout: KeyLayout,
}

impl Catalog {
    pub fn new(connection: ConnectionManager, layout: KeyLayout) -> Self {
        Self { connection, layout }
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// Creates an index: claims the name, writes the catalog entry, then runs FT.CREATE.
    pub async fn create(&self, name: &str, schema: Schema) -> Result<IndexEntry, CatalogError> {
        let mut connection = self.connection.clone();
        let claimed: bool = connection.sadd(self.layout.catalog_set(), name).await?;
        if !claimed {
            return Err(CatalogError::IndexExists(name.to_owned()));
        }

        let entry = IndexEntry {
            name: name.to_owned(),
            schema,
            created_at_ms: now_ms(),
        };
        if let Err(error) = self.write_entry_and_index(&entry).await {
            self.release_claim(name).await;
            return Err(error);
        }
        self.wait_for_initial_scan(name).await?;
        Ok(entry)
    }

    /// Waits, up to [`INITIAL_SCAN_TIMEOUT`], for RediSearch to finish scanning the existing keys into a
    /// new index. RediSearch 2.10 indexes a document written during that scan twice, which skews text
    /// scores until its garbage collector runs, so writes should start after it.
    async fn wait_for_initial_scan(&self, name: &str) -> Result<(), CatalogError> {
        let deadline = tokio::time::Instant::now() + INITIAL_SCAN_TIMEOUT;
        loop {
            if !self.stats(name).await?.indexing {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    index = name,
                    timeout = ?INITIAL_SCAN_TIMEOUT,
                    "RediSearch is still scanning existing keys into the new index; documents written meanwhile may be indexed twice"
                );
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Loads one catalog entry.
    pub async fn get(&self, name: &str) -> Result<IndexEntry, CatalogError> {
        let mut connection = self.connection.clone();
        let fields: HashMap<String, Vec<u8>> =
            connection.hgetall(self.layout.catalog_entry(name)).await?;
        if fields.is_empty() {
            return Err(CatalogError::IndexNotFound(name.to_owned()));
        }
        decode_entry(name, &fields)
    }

    /// Lists the catalog entries, sorted by name.
    pub async fn list(&self) -> Result<Vec<IndexEntry>, CatalogError> {
        let mut connection = self.connection.clone();
        let mut names: Vec<String> = connection.smembers(self.layout.catalog_set()).await?;
        names.sort();
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            match self.get(&name).await {
                Ok(entry) => entries.push(entry),
                // A name whose entry is not written yet belongs to a creation in progress.
                Err(CatalogError::IndexNotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(entries)
    }

    /// Reads FT.INFO of an index.
    pub async fn stats(&self, name: &str) -> Result<IndexStats, CatalogError> {
        let mut connection = self.connection.clone();
        let reply: Value = redis::cmd("FT.INFO")
            .arg(self.layout.search_index(name))
            .query_async(&mut connection)
            .await
            .map_err(|error| not_found_or(error, name))?;
        Ok(parse_info(&reply))
    }

    /// Drops an index and its catalog entry, and with `delete_documents` its document hashes and
    /// suggestion dictionary. A catalog entry whose RediSearch index is already gone is still removed.
    pub async fn drop_index(&self, name: &str, delete_documents: bool) -> Result<(), CatalogError> {
        let mut connection = self.connection.clone();
        let listed: bool = connection
            .sismember(self.layout.catalog_set(), name)
            .await?;

        let mut drop_command = redis::cmd("FT.DROPINDEX");
        drop_command.arg(self.layout.search_index(name));
        if delete_documents {
            drop_command.arg("DD");
        }
        let search_index_dropped = match drop_command.query_async::<()>(&mut connection).await {
            Ok(()) => true,
            Err(error) if is_unknown_index(&error) => false,
            Err(error) => return Err(error.into()),
        };
        if !listed && !search_index_dropped {
            return Err(CatalogError::IndexNotFound(name.to_owned()));
        }

        let mut cleanup = redis::pipe();
        cleanup
            .atomic()
            .del(self.layout.catalog_entry(name))
            .ignore()
            .srem(self.layout.catalog_set(), name)
            .ignore();
        if delete_documents {
            cleanup
                .del(self.layout.suggestions(name))
                .ignore()
                .del(self.layout.suggestion_refs(name))
                .ignore();
        }
        cleanup.query_async::<()>(&mut connection).await?;
        Ok(())
    }

    async fn write_entry_and_index(&self, entry: &IndexEntry) -> Result<(), CatalogError> {
        let mut connection = self.connection.clone();
        let schema_bytes = entry.schema.to_proto().encode_to_vec();
        let _: () = connection
            .hset_multiple(
                self.layout.catalog_entry(&entry.name),
                &[
                    ("schema", schema_bytes),
                    (
                        "created_at_ms",
                        entry.created_at_ms.to_string().into_bytes(),
                    ),
                    ("format", ENTRY_FORMAT.to_string().into_bytes()),
                ],
            )
            .await?;

        let create = entry.schema.create_command(
            &self.layout.search_index(&entry.name),
            &self.layout.document_prefix(&entry.name),
        );
        match create.query_async::<()>(&mut connection).await {
            Ok(()) => Ok(()),
            Err(error) if server_error_text(&error).contains("index already exists") => {
                Err(CatalogError::IndexExists(entry.name.clone()))
            }
            Err(error) if error.code().is_some() && !crate::connection::is_unavailable(&error) => {
                Err(CatalogError::SchemaRejected(InvalidValue::new(
                    "schema",
                    format!(
                        "RediSearch rejected the schema: {}; change the schema",
                        error.detail().unwrap_or("no detail")
                    ),
                )))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn release_claim(&self, name: &str) {
        let mut connection = self.connection.clone();
        let result: redis::RedisResult<()> = redis::pipe()
            .atomic()
            .del(self.layout.catalog_entry(name))
            .ignore()
            .srem(self.layout.catalog_set(), name)
            .ignore()
            .query_async(&mut connection)
            .await;
        if let Err(error) = result {
            tracing::error!(index = name, %error, "failed to remove the catalog entry of an index whose creation failed; drop the index to clean up");
        }
    }
}

/// True for RediSearch's errors about an index name it does not know.
pub fn is_unknown_index(error: &redis::RedisError) -> bool {
    let text = server_error_text(error);
    text.contains("unknown index name") || text.contains("no such index")
}

/// Returns a server error's text in lowercase. Redis splits an error reply at its first space into a
/// code and a detail, so RediSearch's "Unknown Index name" arrives as the code "Unknown" and the detail
/// "Index name"; this joins them again.
pub fn server_error_text(error: &redis::RedisError) -> String {
    let code = error.code().unwrap_or_default();
    let detail = error.detail().unwrap_or_default();
    format!("{code} {detail}").to_ascii_lowercase()
}

fn not_found_or(error: redis::RedisError, name: &str) -> CatalogError {
    if is_unknown_index(&error) {
        CatalogError::IndexNotFound(name.to_owned())
    } else {
        CatalogError::Redis(error)
    }
}

fn decode_entry(name: &str, fields: &HashMap<String, Vec<u8>>) -> Result<IndexEntry, CatalogError> {
    let corrupt = |reason: String| CatalogError::CorruptEntry {
        index: name.to_owned(),
        reason,
    };
    let schema_bytes = fields
        .get("schema")
        .ok_or_else(|| corrupt("no schema".to_owned()))?;
    let wire = pb::IndexSchema::decode(schema_bytes.as_slice())
        .map_err(|error| corrupt(format!("schema does not decode: {error}")))?;
    let schema = Schema::from_proto(&wire).map_err(|error| corrupt(error.to_string()))?;
    let created_at_ms = fields
        .get("created_at_ms")
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    Ok(IndexEntry {
        name: name.to_owned(),
        schema,
        created_at_ms,
    })
}

fn parse_info(reply: &Value) -> IndexStats {
    let Value::Array(items) = reply else {
        return IndexStats::default();
    };
    let mut stats = IndexStats::default();
    let mut memory_mb = None;
    let mut vector_memory_mb = 0.0;
    for pair in items.chunks_exact(2) {
        let Some(key) = value_text(&pair[0]) else {
            continue;
        };
        let number = value_number(&pair[1]);
        match key.as_str() {
            "num_docs" => stats.num_documents = number.unwrap_or_default() as u64,
            "indexing" => stats.indexing = number.unwrap_or_default() != 0.0,
            "percent_indexed" => stats.percent_indexed = number.unwrap_or(1.0),
            "hash_indexing_failures" => {
                stats.num_indexing_failures = number.unwrap_or_default() as u64
            }
            "total_index_memory_sz_mb" => memory_mb = number,
            "vector_index_sz_mb" => vector_memory_mb = number.unwrap_or_default(),
            _ => {}
        }
    }
    stats.memory_bytes = megabytes_to_bytes(memory_mb.unwrap_or_default().max(vector_memory_mb));
    stats.vector_memory_bytes = megabytes_to_bytes(vector_memory_mb);
    stats
}

fn megabytes_to_bytes(megabytes: f64) -> u64 {
    (megabytes * 1024.0 * 1024.0).round() as u64
}

/// Reads a reply value as text.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        Value::Int(number) => Some(number.to_string()),
        Value::Double(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Reads a reply value as a number, parsing text where needed.
pub fn value_number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(number) => Some(*number as f64),
        Value::Double(number) => Some(*number),
        _ => value_text(value)?.trim().parse().ok(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
