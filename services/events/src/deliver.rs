//! How a delivery reaches its endpoint: one HTTP/1.1 POST over TLS (rustls
//! with ring, the platform's roots) or plain HTTP in test mode, to the
//! address the SSRF guard checked — the connector resolves the URL's host
//! to that address and nothing else — within the attempt's timeout, never
//! following a redirect, reading at most the first [`MAX_READ`] bytes of
//! the answer.

use std::{
    future::{Ready, ready},
    iter::{Once, once},
    net::SocketAddr,
    path::Path,
    sync::Arc,
    task::{Context, Poll},
};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{
        Client,
        connect::{HttpConnector, dns::Name},
    },
    rt::TokioExecutor,
};
use rustls::pki_types::{CertificateDer, pem::PemObject as _};

use crate::domain::retry;

/// The most of an answer's body read (logs keep its first 1 kB).
const MAX_READ: usize = 64 * 1024;

/// What an endpoint answered.
#[derive(Debug)]
pub(crate) struct Answered {
    /// The HTTP status.
    pub(crate) status: u16,
    /// Its `Retry-After`, if any.
    pub(crate) retry_after: Option<String>,
    /// The start of its body.
    pub(crate) body: Bytes,
}

/// Posts deliveries.
#[derive(Clone)]
pub(crate) struct Poster {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster").finish_non_exhaustive()
    }
}

/// A resolver that answers every name with the one address checked.
#[derive(Clone, Copy, Debug)]
struct Pinned(SocketAddr);

impl tower::Service<Name> for Pinned {
    type Response = Once<SocketAddr>;
    type Error = std::io::Error;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        ready(Ok(once(self.0)))
    }
}

impl Poster {
    /// A poster trusting the platform's root certificates and those of
    /// `ca_file` (PEM), if given. Without any (a bare container), https
    /// deliveries fail, each saying why, and the service still starts; a
    /// `ca_file` that holds no certificate is an error.
    pub(crate) fn new(ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions =
            rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()?;
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        if let Some(error) = native.errors.first() {
            tracing::warn!(%error, "some platform root certificates could not be read");
        }
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = ca_file {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            anyhow::ensure!(!certificates.is_empty(), "{}: no certificate in it", path.display());
            for certificate in certificates {
                roots.add(certificate)?;
            }
        }
        if roots.is_empty() {
            tracing::warn!("no root certificates: https webhook deliveries will fail until there are");
        }
        let tls = versions.with_root_certificates(roots).with_no_client_auth();
        Ok(Self { tls: Arc::new(tls) })
    }

    /// POSTs `body` with `headers` to `url`, connecting to `address` only;
    /// the answer, or why none came.
    pub(crate) async fn post(
        &self,
        url: &str,
        address: SocketAddr,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answered, String> {
        let mut http = HttpConnector::new_with_resolver(Pinned(address));
        http.enforce_http(false);
        http.set_connect_timeout(Some(retry::TIMEOUT));
        let https: HttpsConnector<HttpConnector<Pinned>> = HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
        let mut request = hyper::Request::post(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request =
            request.body(Full::new(Bytes::from(body))).map_err(|e| format!("not a valid request: {e}"))?;
        let exchange = async {
            let response =
                client.request(request).await.map_err(|e| format!("no answer: {}", deepest(&e)))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // A body larger than this is cut: its start is all a log keeps.
            let body = Limited::new(response.into_body(), MAX_READ)
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            Ok(Answered { status, retry_after, body })
        };
        tokio::time::timeout(retry::TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {} s", retry::TIMEOUT.as_secs())))
    }
}

/// The innermost cause of a transport error (never the URL, which may
/// carry a partner's tokens in its query).
fn deepest(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}
