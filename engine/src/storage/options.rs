//! Store options written in a statement, next to the reader's and writer's:
//! `LOAD 's3://b/x.parquet' (endpoint='http://minio:9000', region='eu-west-1')`,
//! `SAVE ... 's3://b/out/' (region='eu-west-1')`, `read_csv('s3://..', endpoint=..)`.
//!
//! A statement's store options apply to the bucket (container, host) of its
//! path for the rest of the session, as datafusion-cli's `OPTIONS` and
//! DuckDB's scoped secrets do. They live in the session's configuration
//! under [`StoreOptions`] (`fsql_store.<scheme>://<bucket>/<option>`), so
//! they travel with every job to a cluster's scheduler and executors, which
//! build the bucket's store from them (and their own environment for the
//! rest). Credentials are refused here: a script is saved, shared and
//! shown (`SHOW ALL`, logs), so keys come from the environment or the
//! provider's credential chain only.

use std::any::Any;
use std::collections::BTreeMap;

use datafusion::common::{Result as DfResult, config_err};
use datafusion::config::{ConfigEntry, ConfigExtension, ExtensionOptions};

/// Options a statement may give a store, by URL scheme (the names of
/// object_store's configuration keys).
const ALLOWED: &[(&[&str], &[&str])] = &[
    (
        &["s3", "s3a"],
        &[
            "region",
            "endpoint",
            "profile",
            "allow_http",
            "skip_signature",
            "virtual_hosted_style_request",
            "request_payer",
        ],
    ),
    (
        &["gs", "gcs"],
        &["service_account", "skip_signature", "base_url"],
    ),
    (
        &["az", "adl", "azure", "abfs", "abfss"],
        &[
            "account_name",
            "endpoint",
            "use_emulator",
            "skip_signature",
            "use_fabric_endpoint",
        ],
    ),
    (&["http", "https"], &[]),
];

/// HTTP client options every store takes.
const CLIENT: &[&str] = &[
    "timeout",
    "connect_timeout",
    "proxy_url",
    "allow_invalid_certificates",
];

/// Names of credentials, refused in statements.
const SECRETS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "session_token",
    "token",
    "account_key",
    "access_key",
    "master_key",
    "sas_key",
    "sas_token",
    "client_secret",
    "service_account_key",
    "bearer_token",
    "password",
    "secret",
];

/// A statement option's name without a provider prefix (`aws_region`).
fn bare(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for prefix in ["aws_", "azure_storage_", "azure_", "google_"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    lower
}

/// What a statement option is for a store of `scheme`.
#[derive(Debug, PartialEq)]
pub(crate) enum Kind {
    /// A store option, under this name.
    Store(String),
    /// A credential: refused, with the reason.
    Secret(String),
    /// Not the store's: the reader's or writer's.
    Other,
}

pub(crate) fn kind(scheme: &str, name: &str) -> Kind {
    let b = bare(name);
    let b = match b.as_str() {
        "account" => "account_name".to_string(),
        "endpoint_url" => "endpoint".to_string(),
        _ => b,
    };
    if SECRETS.contains(&b.as_str()) {
        return Kind::Secret(format!(
            "'{name}' is a credential, and credentials are not taken in a script (it is saved, shared and shown): set {} in the environment of fsql{}",
            env_hint(scheme),
            " (and of every cluster executor)"
        ));
    }
    let scheme = scheme.to_ascii_lowercase();
    let allowed = ALLOWED
        .iter()
        .find(|(schemes, _)| schemes.contains(&scheme.as_str()))
        .map(|(_, names)| *names)
        .unwrap_or(&[]);
    if allowed.contains(&b.as_str()) || CLIENT.contains(&b.as_str()) {
        Kind::Store(b)
    } else {
        Kind::Other
    }
}

fn env_hint(scheme: &str) -> &'static str {
    match scheme {
        "s3" | "s3a" => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or a profile, AWS_PROFILE)",
        "gs" | "gcs" => "GOOGLE_APPLICATION_CREDENTIALS / GOOGLE_SERVICE_ACCOUNT",
        "http" | "https" => "the server's credentials",
        _ => "AZURE_STORAGE_ACCOUNT_KEY / AZURE_STORAGE_SAS_KEY / AZURE_CLIENT_SECRET",
    }
}

/// The session's store options: `<scheme>://<bucket>` → option → value.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    stores: BTreeMap<String, BTreeMap<String, String>>,
}

impl StoreOptions {
    /// The options of the store at `key` (`s3://bucket`).
    pub(crate) fn of(&self, key: &str) -> Option<&BTreeMap<String, String>> {
        self.stores.get(key)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }
}

impl ConfigExtension for StoreOptions {
    const PREFIX: &'static str = "fsql_store";
}

impl ExtensionOptions for StoreOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    /// `key` is `<scheme>://<bucket>/<option>`.
    fn set(&mut self, key: &str, value: &str) -> DfResult<()> {
        let Some((store, option)) = key.rsplit_once('/') else {
            return config_err!(
                "fsql_store.{key}: expected fsql_store.<scheme>://<bucket>/<option>"
            );
        };
        let Some((scheme, bucket)) = store.split_once("://") else {
            return config_err!(
                "fsql_store.{key}: expected fsql_store.<scheme>://<bucket>/<option>"
            );
        };
        if bucket.is_empty() || bucket.contains('/') {
            return config_err!(
                "fsql_store.{key}: expected fsql_store.<scheme>://<bucket>/<option>"
            );
        }
        match kind(scheme, option) {
            Kind::Store(name) => {
                self.stores
                    .entry(store.to_string())
                    .or_default()
                    .insert(name, value.to_string());
                Ok(())
            }
            Kind::Secret(why) => config_err!("{why}"),
            Kind::Other => config_err!("'{option}' is not an option of {scheme}:// stores"),
        }
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        self.stores
            .iter()
            .flat_map(|(store, options)| {
                options.iter().map(move |(k, v)| ConfigEntry {
                    key: format!("{}.{store}/{k}", Self::PREFIX),
                    value: Some(v.clone()),
                    description: "an object store option given in a statement",
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_into_store_secret_and_other() {
        assert_eq!(kind("s3", "region"), Kind::Store("region".into()));
        assert_eq!(kind("s3", "AWS_ENDPOINT"), Kind::Store("endpoint".into()));
        assert_eq!(kind("s3", "endpoint_url"), Kind::Store("endpoint".into()));
        assert_eq!(kind("s3", "timeout"), Kind::Store("timeout".into()));
        assert_eq!(kind("az", "account"), Kind::Store("account_name".into()));
        assert!(
            matches!(kind("s3", "secret_access_key"), Kind::Secret(m) if m.contains("AWS_SECRET_ACCESS_KEY"))
        );
        assert!(matches!(kind("az", "sas_token"), Kind::Secret(_)));
        assert_eq!(kind("s3", "header"), Kind::Other);
        assert_eq!(kind("https", "region"), Kind::Other);
    }

    #[test]
    fn options_round_trip_through_config_entries() {
        let mut o = StoreOptions::default();
        o.set("s3://acme/region", "eu-west-1").unwrap();
        o.set("s3://acme/endpoint", "http://localhost:9000")
            .unwrap();
        assert!(o.set("s3://acme/secret_access_key", "x").is_err());
        assert!(o.set("s3://acme/header", "true").is_err());
        assert!(o.set("acme/region", "x").is_err());
        let mut copy = StoreOptions::default();
        for e in o.entries() {
            let key = e.key.strip_prefix("fsql_store.").unwrap();
            copy.set(key, e.value.as_deref().unwrap()).unwrap();
        }
        assert_eq!(copy.stores, o.stores);
        assert_eq!(o.of("s3://acme").unwrap()["region"], "eu-west-1");
    }
}
