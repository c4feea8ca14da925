//! Logs and traces: structured logs through `tracing`, and spans exported over OTLP/gRPC when an
//! endpoint is configured. Trace context arrives in W3C `traceparent` gRPC metadata.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Flushes and stops the trace exporter when dropped.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("failed to flush traces to the OTLP endpoint: {error}");
        }
    }
}

/// Installs the global subscriber: logs to stdout in the configured format and, with an OTLP endpoint,
/// spans to that endpoint under `service_name`.
pub fn init(
    service_name: &'static str,
    config: &TelemetryConfig,
) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::builder().parse(&config.log_filter))?;
    let log_layer = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };

    let tracer_provider = match &config.otlp_endpoint {
        Some(endpoint) => Some(build_tracer_provider(service_name, endpoint)?),
        None => None,
    };
    // Only the project's own spans are exported: the HTTP/2 and gRPC libraries open several spans per
    // frame, which would bury the RPC spans.
    let exported_targets = Targets::new()
        .with_target("docsearch_runtime", Level::INFO)
        .with_target("docsearch_indexer", Level::INFO)
        .with_target("docsearch_searcher", Level::INFO)
        .with_target("docsearch_embed", Level::INFO);
    let trace_layer = tracer_provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service_name))
            .with_filter(exported_targets)
    });
    global::set_text_map_propagator(TraceContextPropagator::new());

    tracing_subscriber::registry()
        .with(log_layer.with_filter(filter))
        .with(trace_layer)
        .try_init()?;
    Ok(TelemetryGuard { tracer_provider })
}

fn build_tracer_provider(
    service_name: &'static str,
    endpoint: &str,
) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()?;
    let resource = Resource::builder()
        .with_service_name(service_name)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Makes `span` a child of the trace named in the request's `traceparent` header, if any.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent: Context =
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)));
    // An error only means that no OpenTelemetry layer is installed, so there is no trace to join.
    let _ = span.set_parent(parent);
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
