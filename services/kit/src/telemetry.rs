//! Logs, traces and their propagation across the mesh.
//!
//! [`init`] installs one `tracing` subscriber per process: pretty lines in
//! development, JSON lines when `PAYMESH_LOG_FORMAT=json`, and — when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set — an OpenTelemetry layer exporting
//! spans over OTLP/gRPC. The W3C trace-context propagator is always
//! installed, so the `traceparent` header carries one trace from the gateway
//! through every gRPC hop ([`propagation`]).
//!
//! Spans name what they do and carry ids, never secrets: no API key, card
//! number or bank account number is ever a span field or log argument.

pub mod propagation;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _};

use crate::config::{LogFormat, TelemetryConfig};

/// Keeps the span exporter alive; flushes it on drop.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports every finished span now (blocking until the exporter answers).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider
            && let Err(e) = provider.force_flush()
        {
            tracing::warn!(error = %e, "span export flush failed");
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("span exporter shutdown failed: {e}");
        }
    }
}

/// Installs the process-wide subscriber and, when configured, span export.
///
/// `service_name` becomes the OpenTelemetry `service.name` resource. Must be
/// called inside a Tokio runtime when OTLP export is on (the exporter is a
/// tonic client). Fails if a global subscriber is already installed.
pub fn init(service_name: &str, config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_new(&config.log_filter)
        .with_context(|| format!("invalid log filter {:?}", config.log_filter))?;
    // Logs go to stderr: stdout belongs to command output.
    let fmt = match config.log_format {
        LogFormat::Pretty => {
            tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(true).boxed()
        }
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };

    let (provider, otel) = match &config.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .context("failed to build the OTLP span exporter")?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service_name.to_owned()).build())
                .build();
            let tracer = provider.tracer("paymesh");
            opentelemetry::global::set_tracer_provider(provider.clone());
            (Some(provider), Some(tracing_opentelemetry::layer().with_tracer(tracer)))
        }
        None => (None, None),
    };

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .context("a tracing subscriber is already installed")?;
    Ok(Telemetry { provider })
}
