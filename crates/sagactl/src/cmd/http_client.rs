//! The HTTP client of every subcommand that calls the services. With auth on
//! (docs/security.md) it sends `SAGA_TOKEN` as a bearer token; with HTTPS it trusts the
//! CA of `SAGA_CA_FILE` (the services' certificates are the local CA's, `.dev/secure/ca.pem`).

use anyhow::Context as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

pub(crate) const TOKEN_VAR: &str = "SAGA_TOKEN";
pub(crate) const CA_VAR: &str = "SAGA_CA_FILE";

/// A client builder with the token and the CA of the environment.
pub(crate) fn builder() -> anyhow::Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder();
    if let Some(token) = std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty()) {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .with_context(|| format!("{TOKEN_VAR} is not a token"))?;
        value.set_sensitive(true);
        builder = builder.default_headers(HeaderMap::from_iter([(AUTHORIZATION, value)]));
    }
    if let Some(path) = std::env::var_os(CA_VAR).filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&path)
            .with_context(|| format!("reading {CA_VAR} ({})", path.to_string_lossy()))?;
        for certificate in reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{CA_VAR}: not PEM certificates"))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    Ok(builder)
}

/// [`builder`], built.
pub(crate) fn client() -> anyhow::Result<reqwest::Client> {
    Ok(builder()?.build()?)
}
