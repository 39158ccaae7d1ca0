//! Bearer tokens: JWTs signed with EdDSA (Ed25519). Services hold public keys only, as
//! many as a key rotation needs; `sagactl token` mints with the private key.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Principal;

/// The roles of docs/security.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Operator,
}

/// What a token says. For a customer, `sub` is the customer's id; for an operator, a
/// name for the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub aud: String,
    /// Seconds since the epoch.
    pub exp: u64,
    pub iat: u64,
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

/// Why a request's token is refused: answered 401, with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token (Authorization: Bearer <token>)")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token's signature matches no trusted key")]
    BadSignature,
    #[error("not a valid token: {0}")]
    Malformed(String),
}

/// Checks tokens against the trusted public keys and one audience.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({} keys)", self.keys.len())
    }
}

impl Verifier {
    /// The public keys of `files` (PEM, `BEGIN PUBLIC KEY`; a file may hold several).
    pub fn from_pem_files(files: &[PathBuf], audience: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for path in files {
            let text = read(path)?;
            let blocks = pem_blocks(&text, "PUBLIC KEY");
            if blocks.is_empty() {
                return Err(invalid(path, "no `BEGIN PUBLIC KEY` block"));
            }
            for block in blocks {
                keys.push(
                    DecodingKey::from_ed_pem(block.as_bytes())
                        .map_err(|err| invalid(path, &format!("not an Ed25519 key: {err}")))?,
                );
            }
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self { keys, validation })
    }

    /// Who `token` speaks for, if a trusted key signed it for this audience and it has
    /// not expired.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let mut outcome = Err(TokenError::BadSignature);
        for key in &self.keys {
            outcome = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                .map(|data| data.claims)
                .map_err(|err| match err.kind() {
                    ErrorKind::InvalidSignature => TokenError::BadSignature,
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidAudience => TokenError::WrongAudience,
                    other => TokenError::Malformed(malformed(other).into()),
                });
            if outcome != Err(TokenError::BadSignature) {
                break;
            }
        }
        let claims = outcome?;
        if claims.sub.is_empty()
            || claims.sub.chars().count() > 100
            || claims.sub.chars().any(char::is_control)
        {
            return Err(TokenError::Malformed("`sub` is no valid id".into()));
        }
        Ok(match claims.role {
            Role::Customer => Principal::Customer(claims.sub),
            Role::Operator => Principal::Operator(claims.sub),
        })
    }
}

/// Signs tokens with a private key (`sagactl token`, tests).
#[derive(Clone)]
pub struct Minter {
    key: EncodingKey,
    audience: String,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Minter(aud={})", self.audience)
    }
}

impl Minter {
    /// The private key of `path` (PEM, PKCS#8 `BEGIN PRIVATE KEY`, as
    /// `openssl genpkey -algorithm ed25519` writes it).
    pub fn from_pem_file(path: &Path, audience: &str) -> Result<Self, KeyError> {
        let key = EncodingKey::from_ed_pem(read(path)?.as_bytes())
            .map_err(|err| invalid(path, &format!("not an Ed25519 private key: {err}")))?;
        Ok(Self {
            key,
            audience: audience.to_owned(),
        })
    }

    /// A token for `subject` in `role`, valid for `ttl` from now.
    pub fn mint(&self, role: Role, subject: &str, ttl: Duration) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            aud: self.audience.clone(),
            exp: now + ttl.as_secs(),
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .expect("an Ed25519 key signs any claims")
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })
}

fn invalid(path: &Path, what: &str) -> KeyError {
    KeyError::Invalid {
        path: path.to_owned(),
        what: what.to_owned(),
    }
}

/// What a 401 says of a token that is no token of ours: a fixed phrase per kind, never
/// the library's own words.
fn malformed(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "only EdDSA is accepted",
        ErrorKind::MissingRequiredClaim(_) => "`sub`, `aud` and `exp` are required",
        ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)",
        ErrorKind::Json(_) => "its header or claims do not parse",
        _ => "not a JWT",
    }
}

/// Every `-----BEGIN <label>-----` ... `-----END <label>-----` block of `text`.
fn pem_blocks<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    let (begin, end) = (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    );
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(stop) = rest[start..].find(&end) else {
            break;
        };
        let stop = start + stop + end.len();
        blocks.push(&rest[start..stop]);
        rest = &rest[stop..];
    }
    blocks
}

#[cfg(test)]
mod tests;
