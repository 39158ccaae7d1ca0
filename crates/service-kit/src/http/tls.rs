//! HTTPS: the server's certificate chain and key, for rustls on ring (the workspace's one
//! crypto provider).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the server's certificate chain and private key are (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// The server settings of `files`: TLS 1.2 and 1.3, HTTP/1.1 offered by ALPN. Read at
/// start-up, so that a bad file stops the service at once.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(&files.certificate)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| describe("certificate chain", &files.certificate))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{}: no certificate",
        files.certificate.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| describe("private key", &files.key))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate does not match its key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn describe(what: &str, path: &Path) -> String {
    format!("reading the HTTPS {what} from {}", path.display())
}
