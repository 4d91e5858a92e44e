//! Catalogs for sessions that share a server: every session forked from a
//! base session (see `Session::fork`) sees the base's catalogs, schemas and
//! tables (CREATE TABLE, CREATE EXTERNAL TABLE, CREATE VIEW go there, for
//! everyone), while the names a script binds (`x = SELECT ...`, YIELD TABLE,
//! nested statements) are its own: they live in a layer over the default
//! schema that only its session sees, found first.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::common::Result;

/// The catalogs of a forked session: the base's, with the default schema
/// of the default catalog seen through the session's own layer.
#[derive(Debug)]
pub(crate) struct OverlayCatalogs {
    base: Arc<dyn CatalogProviderList>,
    catalog: String,
    overlay: Arc<OverlayCatalog>,
}

impl OverlayCatalogs {
    pub(crate) fn new(
        base: Arc<dyn CatalogProviderList>,
        default_catalog: &str,
        default_schema: &str,
    ) -> Option<Self> {
        let catalog = base.catalog(default_catalog)?;
        let schema = catalog.schema(default_schema)?;
        Some(Self {
            base,
            catalog: default_catalog.to_string(),
            overlay: Arc::new(OverlayCatalog {
                base: catalog,
                schema_name: default_schema.to_string(),
                schema: Arc::new(Overlay {
                    base: schema,
                    own: RwLock::new(HashMap::new()),
                }),
            }),
        })
    }

    /// The session's own layer.
    pub(crate) fn own(&self) -> &Overlay {
        &self.overlay.schema
    }
}

impl CatalogProviderList for OverlayCatalogs {
    fn register_catalog(
        &self,
        name: String,
        catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        self.base.register_catalog(name, catalog)
    }

    fn catalog_names(&self) -> Vec<String> {
        self.base.catalog_names()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        if name == self.catalog {
            Some(self.overlay.clone())
        } else {
            self.base.catalog(name)
        }
    }
}

#[derive(Debug)]
struct OverlayCatalog {
    base: Arc<dyn CatalogProvider>,
    schema_name: String,
    schema: Arc<Overlay>,
}

impl CatalogProvider for OverlayCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.base.schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == self.schema_name {
            Some(self.schema.clone())
        } else {
            self.base.schema(name)
        }
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        self.base.register_schema(name, schema)
    }

    fn deregister_schema(
        &self,
        name: &str,
        cascade: bool,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        self.base.deregister_schema(name, cascade)
    }
}

/// The default schema of a forked session: its own tables over the shared
/// ones. DataFusion's DDL registers in the shared schema; the session binds
/// its dataframes with [`Overlay::bind`].
#[derive(Debug)]
pub(crate) struct Overlay {
    base: Arc<dyn SchemaProvider>,
    own: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
}

impl Overlay {
    /// Binds `name` in the session's own layer (replacing its binding).
    pub(crate) fn bind(&self, name: &str, table: Arc<dyn TableProvider>) {
        self.own
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), table);
    }

    /// Removes the session's own `name`; false if it had none.
    pub(crate) fn unbind(&self, name: &str) -> bool {
        self.own
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .is_some()
    }

    fn own_table(&self, name: &str) -> Option<Arc<dyn TableProvider>> {
        self.own
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
}

#[async_trait]
impl SchemaProvider for Overlay {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .own
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for n in self.base.table_names() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        match self.own_table(name) {
            Some(t) => Ok(Some(t)),
            None => self.base.table(name).await,
        }
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        self.base.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let own = self
            .own
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        match own {
            Some(t) => Ok(Some(t)),
            None => self.base.deregister_table(name),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.own_table(name).is_some() || self.base.table_exist(name)
    }
}
