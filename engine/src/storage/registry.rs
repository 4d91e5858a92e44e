//! The object-store registry of every runtime fsql builds (stores made on
//! first use from the environment, AWS profile files and a statement's
//! options), and the statement options' way into a session.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::config::ConfigExtension;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::prelude::{SessionConfig, SessionContext};
use fsql_sql::{Literal, Name, Span};
use object_store::ObjectStore;
use url::Url;

use super::options::StoreOptions;
use super::{SCHEMES, aws_profile, is_url, options, uploads};
use crate::error::Error;

/// Creates stores for object-store URLs on first use; local paths go to
/// DataFusion's default registry. A bucket with statement options
/// ([`StoreOptions`]) gets a store built from them; on an executor's task
/// this registry overlays the executor's own (`base`).
#[derive(Debug, Default)]
pub struct StoreRegistry {
    local: DefaultObjectStoreRegistry,
    stores: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
    options: StoreOptions,
    base: Option<Arc<dyn ObjectStoreRegistry>>,
}

impl StoreRegistry {
    /// A registry whose buckets take the options in `config` (a cluster
    /// scheduler's session).
    pub(crate) fn from_config(config: &SessionConfig) -> Self {
        Self {
            options: session_options(config),
            ..Self::default()
        }
    }

    /// A registry for one executor task: buckets with options in `options`
    /// get stores built from them, the rest come from `base`.
    pub(crate) fn overlay(base: Arc<dyn ObjectStoreRegistry>, options: StoreOptions) -> Self {
        Self {
            options,
            base: Some(base),
            ..Self::default()
        }
    }
}

/// The store options in a session's configuration.
pub(crate) fn session_options(config: &SessionConfig) -> StoreOptions {
    config
        .options()
        .extensions
        .get::<StoreOptions>()
        .cloned()
        .unwrap_or_default()
}

/// A store's identity: `scheme://[container@]host[:port]` (never a password).
pub(super) fn key(url: &Url) -> String {
    let user = match url.username() {
        "" => String::new(),
        u => format!("{u}@"),
    };
    format!(
        "{}://{user}{}",
        url.scheme(),
        &url[url::Position::BeforeHost..url::Position::AfterPort]
    )
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        if SCHEMES.contains(&url.scheme()) {
            self.stores.write().ok()?.insert(key(url), store)
        } else {
            self.local.register_store(url, store)
        }
    }

    fn deregister_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        match self
            .stores
            .write()
            .ok()
            .and_then(|mut s| s.remove(&key(url)))
        {
            Some(s) => Ok(s),
            None => self.local.deregister_store(url),
        }
    }

    fn get_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        let k = key(url);
        let options = self.options.of(&k);
        if let Some(base) = &self.base
            && (options.is_none() || !SCHEMES.contains(&url.scheme()))
        {
            return base.get_store(url);
        }
        if !SCHEMES.contains(&url.scheme()) {
            return self.local.get_store(url);
        }
        if let Some(s) = self.stores.read().ok().and_then(|s| s.get(&k).cloned()) {
            return Ok(s);
        }
        let store = match options {
            Some(options) => built(url, options),
            None => build(url, &BTreeMap::new()),
        }
        .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))?;
        let mut stores = self
            .stores
            .write()
            .map_err(|_| DataFusionError::Internal("object store registry poisoned".into()))?;
        Ok(Arc::clone(stores.entry(k).or_insert(store)))
    }
}

/// The store for `url` (`s3://bucket`) built from `options`, when they have
/// some for its bucket.
pub(crate) fn store_with_options(
    url: &str,
    options: &StoreOptions,
) -> DfResult<Option<Arc<dyn ObjectStore>>> {
    let url = Url::parse(url).map_err(|e| DataFusionError::Plan(format!("'{url}': {e}")))?;
    let Some(bucket) = options.of(&key(&url)) else {
        return Ok(None);
    };
    built(&url, bucket)
        .map(Some)
        .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))
}

/// A store built from statement options, shared by every registry of this
/// process that asks for the same bucket with the same options and
/// environment (an executor builds one per bucket, not one per task).
fn built(
    url: &Url,
    options: &BTreeMap<String, String>,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    static BUILT: std::sync::Mutex<BTreeMap<String, Arc<dyn ObjectStore>>> =
        std::sync::Mutex::new(BTreeMap::new());
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            ["AWS_", "GOOGLE_", "AZURE_"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect();
    let id = format!("{}|{options:?}|{env:?}", key(url));
    let mut cache = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = cache.get(&id) {
        return Ok(Arc::clone(s));
    }
    let store = build(url, options)?;
    cache.insert(id, Arc::clone(&store));
    Ok(store)
}

/// A store for `url`'s bucket (or host), configured from the environment
/// and then `options` (statement options, already checked by
/// [`options::kind`]).
fn build(
    url: &Url,
    options: &BTreeMap<String, String>,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let base = key(url);
    let client = || {
        let mut c = object_store::ClientOptions::new();
        for (k, v) in options {
            if let Ok(key) = k.parse::<object_store::ClientConfigKey>() {
                c = c.with_config(key, v);
            }
        }
        c
    };
    Ok(match url.scheme() {
        "s3" | "s3a" => {
            use object_store::aws::AmazonS3ConfigKey as Key;
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(&base);
            let profile = aws_profile::settings(options.get("profile").map(String::as_str));
            let from_profile = |key: Key| {
                profile
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
            };
            let endpoint = options
                .get("endpoint")
                .cloned()
                .or_else(|| {
                    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                        .iter()
                        .find_map(|v| std::env::var(v).ok())
                })
                .or_else(|| from_profile(Key::Endpoint));
            if endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://"))
            {
                // A local S3-compatible server (MinIO, moto) speaks plain HTTP.
                b = b.with_allow_http(true);
            }
            if std::env::var("AWS_REGION").is_err()
                && std::env::var("AWS_DEFAULT_REGION").is_err()
                && from_profile(Key::Region).is_none()
            {
                b = b.with_region("us-east-1");
            }
            for (k, v) in profile {
                b = b.with_config(k, v);
            }
            for (k, v) in options.iter().filter(|(k, _)| *k != "profile") {
                b = b.with_config(k.parse()?, v);
            }
            Arc::new(uploads::Tracked::new(Arc::new(b.build()?)))
        }
        "gs" | "gcs" => {
            let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(&base);
            for (k, v) in options {
                b = b.with_config(k.parse()?, v);
            }
            Arc::new(uploads::Tracked::new(Arc::new(b.build()?)))
        }
        "http" | "https" => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(&base)
                // An http:// URL asks for plain HTTP.
                .with_client_options(client().with_allow_http(url.scheme() == "http"))
                .build()?,
        ),
        _ => {
            let mut b = object_store::azure::MicrosoftAzureBuilder::from_env().with_url(&base);
            for (k, v) in options {
                b = b.with_config(k.parse()?, v);
            }
            Arc::new(uploads::Tracked::new(Arc::new(b.build()?)))
        }
    })
}

/// Takes the store options out of a statement's options for `path` (none
/// unless `path` is a store URL), checks them, and applies them to the
/// session: its configuration (which travels to a cluster) and its
/// registry (a store for the bucket built from them). Returns the options
/// that are the reader's or writer's.
pub(crate) fn configure(
    ctx: &SessionContext,
    path: &str,
    path_span: Span,
    given: &[(Name, Literal)],
) -> crate::error::Result<Vec<(Name, Literal)>> {
    if !is_url(path) {
        return Ok(given.to_vec());
    }
    let url = Url::parse(path).map_err(|e| Error::at(path_span, format!("'{path}': {e}")))?;
    let mut rest = Vec::new();
    let mut mine = Vec::new();
    for (name, value) in given {
        match options::kind(url.scheme(), &name.value) {
            options::Kind::Other => rest.push((name.clone(), value.clone())),
            options::Kind::Secret(why) => return Err(Error::at(name.span, why)),
            options::Kind::Store(option) => {
                let text = match value {
                    Literal::String(s) | Literal::Number(s) => s.clone(),
                    Literal::Bool(b) => b.to_string(),
                    _ => {
                        return Err(Error::at(
                            name.span,
                            format!("'{}' takes a string, a number or true/false", name.value),
                        ));
                    }
                };
                mine.push((name.span, option, text));
            }
        }
    }
    if mine.is_empty() {
        return Ok(rest);
    }
    let k = key(&url);
    let state = ctx.state_ref();
    let mut state = state.write();
    let config = state.config_mut();
    if config.options().extensions.get::<StoreOptions>().is_none() {
        config
            .options_mut()
            .extensions
            .insert(StoreOptions::default());
    }
    let previous = session_options(config);
    for (span, option, text) in &mine {
        config
            .options_mut()
            .set(&format!("{}.{k}/{option}", StoreOptions::PREFIX), text)
            .map_err(|e| Error::at(*span, e.to_string()))?;
    }
    let options = session_options(config);
    let bucket = options.of(&k).cloned().unwrap_or_default();
    let store = match built(&url, &bucket) {
        Ok(store) => store,
        Err(e) => {
            // Keep the session as it was.
            config.options_mut().extensions.insert(previous);
            return Err(Error::at(
                mine[0].0,
                format!("cannot configure the store {k}: {e}"),
            ));
        }
    };
    drop(state);
    ctx.runtime_env().register_object_store(&url, store);
    Ok(rest)
}
