//! librdkafka settings a deployment passes through: TLS, SASL and anything else the
//! workspace does not set itself (docs/security.md).
//!
//! Two sources, the later winning:
//! - `KAFKA_CLIENT_PROPERTIES_FILE`: a librdkafka properties file (`name=value` lines,
//!   `#` comments), as `scripts/infra up --secure` writes one per principal to
//!   `.dev/secure/kafka/<principal>.properties`;
//! - `LIBRDKAFKA_<NAME>`: one setting, named with `_` for `.` (`LIBRDKAFKA_SASL_USERNAME`
//!   is `sasl.username`). `LIBRDKAFKA_<NAME>_FILE` reads the value from a file (a mounted
//!   secret), trailing newline dropped.
//!
//! The prefix is librdkafka's own name, so no setting of the application
//! (`KAFKA_TOPIC_PREFIX`, `KAFKA_GROUP_INSTANCE_ID`, ...) can be read as one of its, or the
//! reverse. The settings the runtime's guarantees rest on are refused: a deployment cannot
//! switch off idempotence or move offset commits out of the inbox's transaction by
//! accident.

use std::fmt;
use std::path::{Path, PathBuf};

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;

/// The prefix of a passed-through setting's environment variable.
pub const ENV_PREFIX: &str = "LIBRDKAFKA_";
/// The variable naming a librdkafka properties file.
pub const PROPERTIES_FILE_VAR: &str = "KAFKA_CLIENT_PROPERTIES_FILE";

/// Settings the workspace owns (DESIGN.md §5): `KAFKA_BOOTSTRAP_SERVERS` and
/// `KAFKA_GROUP_*` set the first three; the rest are what exactly-once effects and
/// per-order order rest on. librdkafka's aliases of them count too, and so does where a
/// new group starts reading (a group that starts at the end skips the backlog).
const RESERVED: [&str; 14] = [
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "group.instance.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "partitioner",
    "partition.assignment.strategy",
    "enable.partition.eof",
    "auto.offset.reset",
    "group.protocol",
];

/// Words that mark a setting's value as secret: it never shows in `Debug`, a log or an
/// error. Every `sasl.*` setting but the three below is secret too, so that a misspelt
/// `sasl.pasword` does not show either.
const SECRET_MARKS: [&str; 7] = [
    "password",
    "secret",
    "key",
    "token",
    "pem",
    "jaas",
    "credential",
];
const SHOWN_SASL: [&str; 3] = ["sasl.mechanism", "sasl.mechanisms", "sasl.username"];

/// Settings that switch off the check of the broker's certificate.
const TLS_DOWNGRADES: [(&str, &str); 2] = [
    ("enable.ssl.certificate.verification", "false"),
    ("ssl.endpoint.identification.algorithm", "none"),
];

/// Passed-through librdkafka settings, in the order they apply.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    entries: Vec<(String, String)>,
}

/// Why the passed-through settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{var}: cannot read {path}: {source}")]
    File {
        var: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: not a `name=value` line")]
    Syntax { path: PathBuf, line: usize },
    #[error(
        "{origin}: `{name}` is set by the workspace itself and cannot be passed through (DESIGN.md §5)"
    )]
    Reserved { origin: String, name: String },
    /// librdkafka refused the settings: its word, with a secret value masked.
    #[error("librdkafka refuses {0}")]
    Invalid(String),
}

impl ClientSettings {
    /// The settings of this process's environment, checked by librdkafka.
    pub fn from_env() -> Result<Self, SettingsError> {
        let settings = Self::from_vars(std::env::vars(), |path| std::fs::read_to_string(path))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Has librdkafka check every name and value now, at start-up, rather than when the
    /// first client is made: its own error quotes the value, which may be a password.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut config = ClientConfig::new();
        self.apply(&mut config);
        match config.create_native_config() {
            Ok(_) => Ok(()),
            Err(KafkaError::ClientConfig(_, reason, name, value)) => {
                let reason = match is_secret(&name) && !value.is_empty() {
                    true => reason.replace(&value, "***"),
                    false => reason,
                };
                Err(SettingsError::Invalid(format!("`{name}`: {reason}")))
            }
            Err(other) => Err(SettingsError::Invalid(other.to_string())),
        }
    }

    /// The passed-through settings that switch off the broker certificate's check, as
    /// `name=value`: a deployment may want that on a test bench, never unnoticed.
    pub fn tls_downgrades(&self) -> Vec<String> {
        TLS_DOWNGRADES
            .iter()
            .filter(|(name, off)| {
                self.get(name)
                    .is_some_and(|value| value.eq_ignore_ascii_case(off))
            })
            .map(|(name, off)| format!("{name}={off}"))
            .collect()
    }

    /// The settings `vars` describe, reading files with `read`.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
        read: impl Fn(&Path) -> std::io::Result<String>,
    ) -> Result<Self, SettingsError> {
        let mut vars: Vec<_> = vars.into_iter().collect();
        // Deterministic: the environment's order is not.
        vars.sort();
        let mut settings = Self::default();
        if let Some((var, path)) = vars.iter().find(|(var, _)| var == PROPERTIES_FILE_VAR) {
            let path = PathBuf::from(path);
            let text = read(&path).map_err(|source| SettingsError::File {
                var: var.clone(),
                path: path.clone(),
                source,
            })?;
            for (index, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (name, value) = line.split_once('=').ok_or_else(|| SettingsError::Syntax {
                    path: path.clone(),
                    line: index + 1,
                })?;
                settings.set(path.display().to_string(), name.trim(), value.trim())?;
            }
        }
        for (var, value) in &vars {
            let Some(suffix) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let (suffix, value) = match suffix.strip_suffix("_FILE") {
                Some(name) => {
                    let path = PathBuf::from(value);
                    let text = read(&path).map_err(|source| SettingsError::File {
                        var: var.clone(),
                        path,
                        source,
                    })?;
                    (name, text.trim_end_matches(['\r', '\n']).to_owned())
                }
                None => (suffix, value.clone()),
            };
            let name = suffix.to_ascii_lowercase().replace('_', ".");
            settings.set(var.clone(), &name, &value)?;
        }
        Ok(settings)
    }

    fn set(&mut self, origin: String, name: &str, value: &str) -> Result<(), SettingsError> {
        if RESERVED.contains(&name) {
            return Err(SettingsError::Reserved {
                origin,
                name: name.to_owned(),
            });
        }
        self.entries.retain(|(known, _)| known != name);
        self.entries.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Sets every passed-through setting on `config`, over the workspace's defaults.
    pub fn apply(&self, config: &mut ClientConfig) {
        for (name, value) in &self.entries {
            config.set(name, value);
        }
    }

    /// The value of setting `name`, if passed through.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn is_secret(name: &str) -> bool {
    SECRET_MARKS.iter().any(|mark| name.contains(mark))
        || (name.starts_with("sasl.") && !SHOWN_SASL.contains(&name))
}

/// What a start-up log line may say: every name, and the values that are not secret.
impl fmt::Display for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .entries
            .iter()
            .map(|(name, value)| match is_secret(name) {
                true => format!("{name}=***"),
                false => format!("{name}={value}"),
            })
            .collect();
        f.write_str(&shown.join(", "))
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientSettings({self})")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read_from(files: &[(&str, &str)]) -> impl Fn(&Path) -> std::io::Result<String> {
        let files: HashMap<PathBuf, String> = files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect();
        move |path| {
            files
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn prefixed_variables_name_librdkafka_settings_and_app_settings_are_left_alone() {
        let settings = ClientSettings::from_vars(
            vars(&[
                ("LIBRDKAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
                ("LIBRDKAFKA_SASL_MECHANISMS", "SCRAM-SHA-512"),
                ("KAFKA_TOPIC_PREFIX", "t-"),
                ("KAFKA_GROUP_INSTANCE_ID", "order-1"),
                ("PATH", "/bin"),
            ]),
            read_from(&[]),
        )
        .expect("valid");
        assert_eq!(settings.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(settings.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(settings.entries.len(), 2, "{settings:?}");
    }

    #[test]
    fn a_secret_comes_from_its_file_and_never_shows() {
        let settings = ClientSettings::from_vars(
            vars(&[
                ("LIBRDKAFKA_SASL_PASSWORD_FILE", "/run/secrets/kafka"),
                ("LIBRDKAFKA_SASL_USERNAME", "payment-service"),
            ]),
            read_from(&[("/run/secrets/kafka", "s3cret\n")]),
        )
        .expect("valid");
        assert_eq!(settings.get("sasl.password"), Some("s3cret"));
        let shown = format!("{settings:?} {settings}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("sasl.username=payment-service"), "{shown}");
    }

    #[test]
    fn the_properties_file_applies_first_and_the_environment_overrides_it() {
        let file = "# payment-service\nsecurity.protocol=SASL_SSL\n\nsasl.username = payment-service\nsasl.password=pw=with=equals\n";
        let settings = ClientSettings::from_vars(
            vars(&[
                (PROPERTIES_FILE_VAR, "/p.properties"),
                ("LIBRDKAFKA_SASL_USERNAME", "other"),
            ]),
            read_from(&[("/p.properties", file)]),
        )
        .expect("valid");
        assert_eq!(settings.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(settings.get("sasl.username"), Some("other"));
        assert_eq!(settings.get("sasl.password"), Some("pw=with=equals"));
        let mut config = ClientConfig::new();
        settings.apply(&mut config);
        assert_eq!(config.get("sasl.username"), Some("other"));
    }

    #[test]
    fn the_workspace_s_own_settings_and_bad_input_are_refused_with_their_origin() {
        let reserved = ClientSettings::from_vars(
            vars(&[("LIBRDKAFKA_ENABLE_AUTO_COMMIT", "true")]),
            read_from(&[]),
        )
        .expect_err("reserved");
        assert!(
            reserved
                .to_string()
                .contains("LIBRDKAFKA_ENABLE_AUTO_COMMIT"),
            "{reserved}"
        );
        let in_file = ClientSettings::from_vars(
            vars(&[(PROPERTIES_FILE_VAR, "/p")]),
            read_from(&[("/p", "acks=1\n")]),
        )
        .expect_err("reserved in the file");
        assert!(matches!(in_file, SettingsError::Reserved { .. }));
        let syntax = ClientSettings::from_vars(
            vars(&[(PROPERTIES_FILE_VAR, "/p")]),
            read_from(&[("/p", "ok=1\nno equals sign\n")]),
        )
        .expect_err("syntax");
        assert!(
            matches!(syntax, SettingsError::Syntax { line: 2, .. }),
            "{syntax}"
        );
        let alias = ClientSettings::from_vars(
            vars(&[("LIBRDKAFKA_METADATA_BROKER_LIST", "elsewhere:9092")]),
            read_from(&[]),
        )
        .expect_err("an alias of bootstrap.servers");
        assert!(matches!(alias, SettingsError::Reserved { .. }), "{alias}");
        let missing = ClientSettings::from_vars(
            vars(&[("LIBRDKAFKA_SASL_PASSWORD_FILE", "/nowhere")]),
            read_from(&[]),
        )
        .expect_err("no file");
        assert!(missing.to_string().contains("/nowhere"), "{missing}");
    }

    #[test]
    fn librdkafka_checks_names_and_values_and_its_refusal_never_shows_a_secret() {
        let settings = |pairs: &[(&str, &str)]| {
            ClientSettings::from_vars(vars(pairs), read_from(&[])).expect("not reserved")
        };
        settings(&[
            ("LIBRDKAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("LIBRDKAFKA_SASL_PASSWORD", "s3cret"),
        ])
        .validate()
        .expect("valid settings");
        let misspelt = settings(&[("LIBRDKAFKA_SASL_PASWORD", "s3cret")])
            .validate()
            .expect_err("no such setting");
        let shown = format!("{misspelt} {misspelt:?}");
        assert!(
            shown.contains("sasl.pasword") && !shown.contains("s3cret"),
            "{shown}"
        );
        let bad_value = settings(&[("LIBRDKAFKA_SECURITY_PROTOCOL", "SASL_SLL")])
            .validate()
            .expect_err("no such protocol");
        assert!(bad_value.to_string().contains("SASL_SLL"), "{bad_value}");
        let shown = settings(&[("LIBRDKAFKA_SASL_PASWORD", "s3cret")]).to_string();
        assert_eq!(shown, "sasl.pasword=***");
    }

    #[test]
    fn switching_off_the_broker_certificate_s_check_is_named() {
        let settings = ClientSettings::from_vars(
            vars(&[
                ("LIBRDKAFKA_ENABLE_SSL_CERTIFICATE_VERIFICATION", "false"),
                ("LIBRDKAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM", "https"),
            ]),
            read_from(&[]),
        )
        .expect("valid");
        assert_eq!(
            settings.tls_downgrades(),
            ["enable.ssl.certificate.verification=false"]
        );
        assert!(ClientSettings::default().tls_downgrades().is_empty());
    }
}
