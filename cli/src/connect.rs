//! gRPC channels to the indexer and the searcher.

use std::fmt;
use std::time::Duration;

use docsearch_proto::v1::index_service_client::IndexServiceClient;
use docsearch_proto::v1::ingest_service_client::IngestServiceClient;
use docsearch_proto::v1::search_service_client::SearchServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::error::CliError;

/// Default address of the indexer, which serves IndexService and IngestService.
pub const DEFAULT_INDEXER: &str = "http://127.0.0.1:50051";
/// Default address of the searcher, which serves SearchService.
pub const DEFAULT_SEARCHER: &str = "http://127.0.0.1:50052";

/// Time to open the TCP connection and finish the HTTP/2 handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Maximum size of a response message, such as a Get of 1,000 documents with their vectors.
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// One of the two services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Indexer,
    Searcher,
}

impl Service {
    fn binary(self) -> &'static str {
        match self {
            Service::Indexer => "indexer",
            Service::Searcher => "searcher",
        }
    }

    fn option(self) -> &'static str {
        match self {
            Service::Indexer => "--indexer",
            Service::Searcher => "--searcher",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Service::Indexer => "DOCSEARCH_INDEXER",
            Service::Searcher => "DOCSEARCH_SEARCHER",
        }
    }

    fn default_address(self) -> &'static str {
        match self {
            Service::Indexer => DEFAULT_INDEXER,
            Service::Searcher => DEFAULT_SEARCHER,
        }
    }

    /// Describes how to start the service or point the client at it, for connection errors.
    pub fn start_hint(self) -> String {
        format!(
            "Start the {name} (the `{binary}` binary of this workspace, `cargo run --release --bin {binary}`, \
             which listens on {default} by default), or point {option} or {env} at a running one.",
            name = self,
            binary = self.binary(),
            default = self.default_address(),
            option = self.option(),
            env = self.env(),
        )
    }
}

impl fmt::Display for Service {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.binary())
    }
}

/// The service addresses and the deadline of unary requests, from the global options.
#[derive(Debug, Clone)]
pub struct Services {
    pub indexer: String,
    pub searcher: String,
    /// Deadline of each unary request; the Ingest stream of a load has none.
    pub timeout: Duration,
}

impl Services {
    pub async fn index_client(&self) -> Result<IndexServiceClient<Channel>, CliError> {
        let channel = connect(Service::Indexer, &self.indexer).await?;
        Ok(IndexServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES))
    }

    pub async fn ingest_client(&self) -> Result<IngestServiceClient<Channel>, CliError> {
        let channel = connect(Service::Indexer, &self.indexer).await?;
        Ok(IngestServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES))
    }

    pub async fn search_client(&self) -> Result<SearchServiceClient<Channel>, CliError> {
        let channel = connect(Service::Searcher, &self.searcher).await?;
        Ok(SearchServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES))
    }

    /// Wraps a unary request message with the deadline.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }
}

/// Opens a channel, failing early with a hint when no server accepts connections at `address`.
pub async fn connect(service: Service, address: &str) -> Result<Channel, CliError> {
    let endpoint = Endpoint::from_shared(address.to_owned())
        .map_err(|error| {
            CliError::Usage(format!("invalid {} address {address:?}: {error}", service))
        })?
        .connect_timeout(CONNECT_TIMEOUT);
    endpoint.connect().await.map_err(|error| CliError::Connect {
        service,
        address: address.to_owned(),
        reason: error_chain(&error),
    })
}

/// Joins an error and its sources with ": ", as in "transport error: tcp connect error: Connection refused".
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Checks an `http://` service address, for clap. This build has no TLS, so `https://` is rejected.
pub fn parse_address(value: &str) -> Result<String, String> {
    let uri: tonic::codegen::http::Uri = value
        .parse()
        .map_err(|error| format!("{error}; expected a URL such as {DEFAULT_INDEXER}"))?;
    match uri.scheme_str() {
        Some("http") if uri.authority().is_some() => Ok(value.to_owned()),
        Some("https") => Err(
            "https is not supported: this client is built without TLS; use an http:// URL"
                .to_owned(),
        ),
        _ => Err(format!(
            "expected an http:// URL with a host and port, such as {DEFAULT_INDEXER}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_accepts_http_urls() {
        assert_eq!(
            parse_address("http://127.0.0.1:50051").as_deref(),
            Ok("http://127.0.0.1:50051")
        );
    }

    #[test]
    fn address_rejects_missing_scheme() {
        assert!(parse_address("127.0.0.1:50051").is_err());
        assert!(parse_address("ftp://127.0.0.1:21").is_err());
        assert!(parse_address("https://127.0.0.1:443").is_err());
        assert!(parse_address("not a url").is_err());
    }

    #[test]
    fn hint_names_option_and_env() {
        let hint = Service::Searcher.start_hint();
        assert!(hint.contains("--searcher"), "{hint}");
        assert!(hint.contains("DOCSEARCH_SEARCHER"), "{hint}");
        assert!(hint.contains("127.0.0.1:50052"), "{hint}");
    }
}
