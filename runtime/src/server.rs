//! gRPC serving shared by both services: health and reflection next to the service's own routes,
//! readiness from Redis, per-RPC logs and traces, and graceful shutdown on SIGTERM or SIGINT.
//!
//! The sequence on a signal: health turns NOT_SERVING, the shutdown token is cancelled (so that
//! streaming handlers finish the batch in hand and end their streams), the listener stops accepting,
//! and in-flight RPCs get `shutdown_grace_period` to finish before the process exits anyway.

use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::BoxFuture;
use redis::aio::ConnectionManager;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{Instrument, debug, info, warn};

use crate::config::ServerConfig;
use crate::connection::{RedactedUrl, check_ready};

/// Binds the listening socket, with an error that names the address.
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.with_context(|| {
        format!(
            "failed to bind {address}; choose a free address with DOCSEARCH__SERVER__LISTEN_ADDR"
        )
    })
}

/// Returns a token cancelled at the first SIGTERM or SIGINT.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        info!(signal, "shutdown requested");
        cancel.cancel();
    });
    token
}

async fn wait_for_signal() -> &'static str {
    let mut terminate = match tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::terminate(),
    ) {
        Ok(stream) => stream,
        Err(error) => {
            warn!(%error, "failed to install the SIGTERM handler; only SIGINT stops the service gracefully");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}

/// The Redis readiness probe behind the health status.
#[derive(Clone)]
pub struct Readiness {
    pub connection: ConnectionManager,
    pub url: RedactedUrl,
}

/// A service's gRPC server.
pub struct GrpcServer {
    /// Short service name for logs, such as "indexer".
    pub name: &'static str,
    pub listener: TcpListener,
    pub routes: Routes,
    /// Fully qualified names of the services in `routes`, reported by grpc.health.v1.
    pub health_services: Vec<&'static str>,
    pub readiness: Readiness,
    pub config: ServerConfig,
    pub shutdown: CancellationToken,
}

impl GrpcServer {
    /// Serves until the shutdown token is cancelled and in-flight RPCs finish or the grace period ends.
    pub async fn run(self) -> anyhow::Result<()> {
        let GrpcServer {
            name,
            listener,
            routes,
            health_services,
            readiness,
            config,
            shutdown,
        } = self;
        let address = listener.local_addr()?;

        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        set_health(
            &health_reporter,
            &health_services,
            ServingStatus::NotServing,
        )
        .await;
        let reflection_v1 = reflection_builder(&health_services).build_v1()?;
        let reflection_v1alpha = reflection_builder(&health_services).build_v1alpha()?;
        let routes = routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        let monitor = tokio::spawn(
            monitor_readiness(
                health_reporter.clone(),
                health_services.clone(),
                readiness,
                config.health_check_interval,
                shutdown.clone(),
            )
            .in_current_span(),
        );

        info!(service = name, %address, "listening");
        let drain = shutdown.clone();
        let reporter = health_reporter.clone();
        let stop_accepting = async move {
            drain.cancelled().await;
            set_health(&reporter, &health_services, ServingStatus::NotServing).await;
            info!(service = name, %address, "stopped accepting connections; draining in-flight requests");
        };
        // A response goes out in several small writes (HTTP/2 headers, data, trailers). Without
        // TCP_NODELAY, Nagle's algorithm holds the later ones until the client acknowledges the first,
        // which a client that delays its ACKs does after about 40 ms on Linux.
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = tonic::transport::Server::builder()
            .layer(RpcLogLayer)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stop_accepting);
        tokio::pin!(server);

        let outcome = tokio::select! {
            result = &mut server => result.map_err(anyhow::Error::from),
            () = shutdown.cancelled() => {
                let grace_period = config.shutdown_grace_period;
                match tokio::time::timeout(grace_period, &mut server).await {
                    Ok(result) => result.map_err(anyhow::Error::from),
                    Err(_) => {
                        warn!(service = name, ?grace_period, "shutdown grace period elapsed with requests in flight; exiting");
                        Ok(())
                    }
                }
            }
        };
        monitor.abort();
        info!(service = name, %address, "stopped");
        outcome
    }
}

/// Builds reflection over the contracts that advertises only the services this server runs, because the
/// descriptor set contains every docsearch service.
fn reflection_builder(services: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(docsearch_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    for service in services {
        builder = builder.with_service_name(*service);
    }
    builder
}

async fn set_health(reporter: &HealthReporter, services: &[&'static str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in services {
        reporter.set_service_status(*service, status).await;
    }
}

/// Probes Redis until shutdown: SERVING while it replies and has a search module, NOT_SERVING otherwise.
/// Failed probes back off from the configured interval to 30 s and are each logged.
async fn monitor_readiness(
    reporter: HealthReporter,
    services: Vec<&'static str>,
    mut readiness: Readiness,
    interval: Duration,
    shutdown: CancellationToken,
) {
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let mut ready = false;
    let mut num_failures: u32 = 0;
    loop {
        let delay = match check_ready(&mut readiness.connection, &readiness.url).await {
            Ok(()) => {
                if !ready {
                    info!(redis = %readiness.url, "Redis is ready; serving");
                    set_health(&reporter, &services, ServingStatus::Serving).await;
                    ready = true;
                }
                num_failures = 0;
                interval
            }
            Err(error) => {
                num_failures += 1;
                let retry_in = interval
                    .saturating_mul(num_failures.min(6))
                    .min(MAX_BACKOFF);
                warn!(%error, attempt = num_failures, ?retry_in, "Redis readiness check failed; not serving, retrying");
                if ready {
                    set_health(&reporter, &services, ServingStatus::NotServing).await;
                    ready = false;
                }
                retry_in
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Logs each RPC once its response starts, with the method, the gRPC status and the latency, and gives
/// it a span that joins the caller's trace.
#[derive(Clone, Copy)]
struct RpcLogLayer;

impl<S> tower::Layer<S> for RpcLogLayer {
    type Service = RpcLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcLog { inner }
    }
}

#[derive(Clone)]
struct RpcLog<S> {
    inner: S,
}

impl<S, RequestBody, ResponseBody> tower::Service<http::Request<RequestBody>> for RpcLog<S>
where
    S: tower::Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let span = tracing::info_span!("rpc", rpc.method = %method, otel.kind = "server", grpc.status = tracing::field::Empty);
        crate::telemetry::adopt_remote_parent(&span, request.headers());
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(
            async move {
                let result = response.await;
                let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
                match &result {
                    Ok(response) => log_response(&method, response.headers(), elapsed_ms),
                    Err(error) => warn!(method, %error, elapsed_ms, "rpc failed in transport"),
                }
                result
            }
            .instrument(span),
        )
    }
}

fn log_response(method: &str, headers: &http::HeaderMap, elapsed_ms: f64) {
    // A failing handler sends a trailers-only response, so its status is a header. Successful responses
    // carry the status in trailers, after the body.
    let code = headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<i32>().ok())
        .map(tonic::Code::from);
    if let Some(code) = code {
        tracing::Span::current().record("grpc.status", code as i32);
    }
    match code {
        None | Some(tonic::Code::Ok) => debug!(method, elapsed_ms, "rpc"),
        Some(
            code @ (tonic::Code::InvalidArgument
            | tonic::Code::NotFound
            | tonic::Code::AlreadyExists
            | tonic::Code::FailedPrecondition
            | tonic::Code::OutOfRange
            | tonic::Code::Cancelled
            | tonic::Code::ResourceExhausted),
        ) => info!(method, ?code, elapsed_ms, "rpc rejected"),
        Some(code) => warn!(method, ?code, elapsed_ms, "rpc failed"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log writer that keeps what it receives.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Returns the log line of a response whose trailers-only status is `code`.
    fn logged(code: tonic::Code) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-status", (code as i32).into());
        tracing::subscriber::with_default(subscriber, || {
            log_response("/docsearch.v1.SearchService/Search", &headers, 1.5);
        });
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn rejected_rpc_logs_plain_code() {
        let line = logged(tonic::Code::InvalidArgument);
        assert!(line.contains("rpc rejected"), "{line}");
        assert!(line.contains("code=InvalidArgument"), "{line}");
        assert!(!line.contains("Some("), "{line}");
    }

    #[test]
    fn failed_rpc_logs_plain_code() {
        let line = logged(tonic::Code::Internal);
        assert!(line.contains("rpc failed"), "{line}");
        assert!(line.contains("code=Internal"), "{line}");
    }
}
