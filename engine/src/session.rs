//! A `Session` runs scripts statement by statement and holds what a script
//! run or a REPL keeps between statements: named dataframes, the previous
//! (anonymous) dataframe, template variables, yielded results, and the
//! DataFusion context of the chosen engine.
//!
//! Dataframes are DataFusion logical plans, not data: a script composes into
//! one plan that DataFusion optimises as a whole. Data is materialised only
//! at PRINT/SAVE, PERSIST/CHECKPOINT and YIELD of files or tables.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::ViewTable;
use datafusion::execution::context::SessionContext;
use fsql_sql::{Modifier, Name, Script, Span, Statement, Step, Yield, YieldKind};

use crate::cluster::{ClusterOptions, EmbeddedCluster};
use crate::engine::Engine;
use crate::error::{AtSpan, Error, Result};
use crate::lower;
use crate::ml::ModelStore;
use crate::output::{CollectSink, Sink};
use crate::overlay::OverlayCatalogs;
use crate::policy::Policy;
use crate::python::PythonConfig;
use crate::template;

/// A dataframe a script exposed with YIELD.
#[derive(Clone)]
pub struct Yielded {
    pub name: String,
    pub kind: YieldKind,
    pub frame: DataFrame,
    /// For `YIELD FILE`: the Parquet file holding the data.
    pub path: Option<PathBuf>,
}

pub struct Session {
    engine: Engine,
    cluster: ClusterOptions,
    /// The embedded cluster the `cluster` engine runs on (None on the other
    /// engines and with a remote scheduler); stops when dropped.
    embedded: Option<EmbeddedCluster>,
    pub(crate) ctx: SessionContext,
    pub(crate) frames: HashMap<String, DataFrame>,
    pub(crate) last: Option<DataFrame>,
    variables: BTreeMap<String, String>,
    yielded: Vec<Yielded>,
    pub(crate) sink: Box<dyn Sink>,
    scratch: crate::scratch::Scratch,
    last_step_produced: bool,
    /// Where the previous dataframe's statement is, for errors raised when
    /// it finally runs.
    last_span: Span,
    /// Where CREATE MODEL stores models and PREDICT finds them.
    pub(crate) models: ModelStore,
    /// A forked session's catalogs: its bound names are its own.
    overlay: Option<Arc<OverlayCatalogs>>,
    /// Rows the last statement wrote, when it was DML (INSERT ...).
    pub(crate) affected: Option<u64>,
    /// What this session may do (read-only, programs, data root).
    pub(crate) policy: Policy,
    /// The interpreter and `--udf` files Python functions come from.
    pub(crate) python: PythonConfig,
    /// The memory limit SET fsql.memory_limit gave (Some(None): no limit).
    memory_limit: Option<Option<u64>>,
}

impl Session {
    /// A session on `engine` whose PRINT output is collected in memory
    /// (`cluster`: an embedded cluster with default settings).
    pub async fn new(engine: Engine) -> Result<Self> {
        Self::open(
            engine,
            ClusterOptions::default(),
            Box::new(CollectSink::default()),
        )
        .await
    }

    /// A session on `engine` whose PRINT output goes to `sink`; `cluster`
    /// says where the cluster engine runs (now or after [`Session::set_engine`]).
    pub async fn open(
        engine: Engine,
        cluster: ClusterOptions,
        sink: Box<dyn Sink>,
    ) -> Result<Self> {
        let (ctx, embedded) = context(engine, &cluster).await?;
        Ok(Self {
            engine,
            cluster,
            embedded,
            ctx,
            frames: HashMap::new(),
            last: None,
            variables: BTreeMap::new(),
            yielded: Vec::new(),
            sink,
            scratch: Default::default(),
            last_step_produced: false,
            last_span: Span::empty(),
            models: ModelStore::new(crate::ml::store::DEFAULT_DIR),
            overlay: None,
            affected: None,
            policy: Policy::default(),
            python: PythonConfig::default(),
            memory_limit: None,
        })
    }

    /// A session on this one's engine (its context, memory pool, cluster
    /// and model store) with nothing of its own yet: the catalog tables are
    /// shared with this session and every other fork, while the dataframes
    /// each binds, its previous dataframe and variables are its own. What
    /// a server gives each connection. The base session must outlive its
    /// forks on the cluster engine (it owns the embedded cluster).
    pub fn fork(&self, sink: Box<dyn Sink>) -> Session {
        use datafusion::execution::session_state::SessionStateBuilder;
        let state = self.ctx.state();
        let options = state.config().options();
        let overlay = OverlayCatalogs::new(
            state.catalog_list().clone(),
            &options.catalog.default_catalog,
            &options.catalog.default_schema,
        )
        .map(Arc::new);
        let mut builder = SessionStateBuilder::new_from_existing(state)
            .with_session_id(format!("fsql-{}", unique_suffix()));
        if let Some(o) = &overlay {
            builder = builder.with_catalog_list(o.clone());
        }
        Session {
            engine: self.engine,
            cluster: self.cluster.clone(),
            embedded: None,
            ctx: SessionContext::new_with_state(builder.build()),
            frames: HashMap::new(),
            last: None,
            variables: self.variables.clone(),
            yielded: Vec::new(),
            sink,
            scratch: Default::default(),
            last_step_produced: false,
            last_span: Span::empty(),
            models: self.models.clone(),
            overlay,
            affected: None,
            policy: self.policy.clone(),
            python: self.python.clone(),
            memory_limit: self.memory_limit,
        }
    }

    /// Makes `table` readable as `name` by this session only (a server's
    /// temporary tables), replacing what the session had under that name.
    pub fn register_temporary(&self, name: &str, table: Arc<dyn TableProvider>) -> Result<()> {
        self.register_own(name, table, Span::empty())
    }

    /// Registers `table` as `name` for this session only (a fork's own
    /// layer; the context's default schema otherwise).
    fn register_own(&self, name: &str, table: Arc<dyn TableProvider>, span: Span) -> Result<()> {
        if let Some(o) = &self.overlay {
            o.own().bind(name, table);
            return Ok(());
        }
        let reference = TableReference::bare(name.to_string());
        if self.ctx.table_exist(reference.clone()).at(span)? {
            self.ctx.deregister_table(reference.clone()).at(span)?;
        }
        self.ctx.register_table(reference, table).at(span)?;
        Ok(())
    }

    /// Removes this session's own `name` (see [`Session::register_own`]).
    fn unregister_own(&self, name: &str, span: Span) -> Result<()> {
        if let Some(o) = &self.overlay {
            o.own().unbind(name);
            return Ok(());
        }
        self.ctx
            .deregister_table(TableReference::bare(name.to_string()))
            .at(span)?;
        Ok(())
    }

    /// Keeps models in `dir` from now on (default `.fsql/models` under the
    /// working directory).
    pub fn set_model_dir(&mut self, dir: impl AsRef<std::path::Path>) {
        self.models = ModelStore::new(dir);
    }

    /// The model store of this session.
    pub fn models(&self) -> &ModelStore {
        &self.models
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Sets a template variable (`{{ name }}` in later scripts).
    pub fn set_variable(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.variables.insert(name.into(), value.into());
    }

    /// The previous dataframe: the result of the last dataframe-producing
    /// statement.
    pub fn last(&self) -> Option<&DataFrame> {
        self.last.as_ref()
    }

    /// Forgets the previous dataframe: the next script starts its anonymous
    /// chain afresh (named dataframes stay). A server does this per request.
    pub fn forget_previous(&mut self) {
        self.last = None;
        self.last_step_produced = false;
    }

    /// A named dataframe (`name = ...`).
    pub fn frame(&self, name: &str) -> Option<&DataFrame> {
        self.frames.get(name)
    }

    /// What the scripts run so far exposed with YIELD.
    pub fn yielded(&self) -> &[Yielded] {
        &self.yielded
    }

    /// Shows the previous dataframe through the sink, like `PRINT` but with
    /// `rows` rows at most (all rows when None).
    /// With `rowcount`, the total number of rows is counted too.
    pub async fn print_last(&mut self, rows: Option<u64>, rowcount: bool) -> Result<()> {
        let span = self.last_span;
        let df = self.input(None, span).await?;
        let shown = lower::print::show(self, df, rows.map(|r| r as usize), None, rowcount, span);
        match crate::guard::guarded(shown, span).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.with_own_limit(e)),
        }
    }

    /// Shows the plan (logical and physical) of the previous dataframe.
    pub async fn explain_last(&mut self) -> Result<()> {
        let span = self.last_span;
        let df = self.input(None, span).await?;
        let plan = df.explain(false, false).at(span)?;
        lower::print::show(self, plan, None, None, false, span).await
    }

    /// Sends later PRINT output to `sink`.
    pub fn set_sink(&mut self, sink: Box<dyn Sink>) {
        self.sink = sink;
    }

    /// Moves the session to another engine. Bound dataframes, catalog tables
    /// and the previous dataframe come along (their plans move to the new
    /// context).
    pub async fn set_engine(&mut self, engine: Engine) -> Result<()> {
        if engine == self.engine {
            return Ok(());
        }
        let span = Span::empty();
        let (ctx, embedded) = context(engine, &self.cluster).await?;
        let state = ctx.state();
        let moved = |df: &DataFrame| DataFrame::new(state.clone(), df.logical_plan().clone());
        for name in self.table_names() {
            if self.frames.contains_key(&name) {
                continue;
            }
            let provider = self
                .ctx
                .table_provider(TableReference::bare(name.clone()))
                .await
                .at(span)?;
            ctx.register_table(TableReference::bare(name), provider)
                .at(span)?;
        }
        for (name, df) in self.frames.iter_mut() {
            *df = moved(df);
            ctx.register_table(TableReference::bare(name.clone()), view(df))
                .at(span)?;
        }
        self.last = self.last.as_ref().map(moved);
        self.ctx = ctx;
        self.embedded = embedded;
        self.engine = engine;
        Ok(())
    }

    /// Names scripts can refer to, with their schemas: bound dataframes and
    /// catalog tables (fsql's internal names left out), sorted by name.
    pub async fn relations(&self) -> Vec<(String, SchemaRef)> {
        let mut out: Vec<(String, SchemaRef)> = self
            .frames
            .iter()
            .map(|(name, df)| (name.clone(), Arc::new(df.schema().as_arrow().clone())))
            .collect();
        for name in self.table_names() {
            if name.starts_with("__fsql") || self.frames.contains_key(&name) {
                continue;
            }
            if let Ok(provider) = self
                .ctx
                .table_provider(TableReference::bare(name.clone()))
                .await
            {
                out.push((name, provider.schema()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Tables of the default schema.
    pub(crate) fn table_names(&self) -> Vec<String> {
        let options = self.ctx.copied_config();
        let catalog = &options.options().catalog;
        self.ctx
            .catalog(&catalog.default_catalog)
            .and_then(|c| c.schema(&catalog.default_schema))
            .map(|schema| schema.table_names())
            .unwrap_or_default()
    }

    /// Renders `text` as a template, parses it and runs it.
    pub async fn run(&mut self, text: &str) -> Result<()> {
        let text = template::render(text, &self.variables)?;
        let script = fsql_sql::parse(&text)?;
        self.run_script(&script).await
    }

    /// Runs a parsed script; stops at the first failing statement.
    pub async fn run_script(&mut self, script: &Script) -> Result<()> {
        for step in &script.steps {
            if let Err(e) = crate::guard::guarded(self.run_step(step), step.span).await {
                return Err(self.with_own_limit(e));
            }
        }
        Ok(())
    }

    /// A memory-limit error names this session's limit when SET
    /// fsql.memory_limit changed it.
    fn with_own_limit(&self, e: Error) -> Error {
        match self.memory_limit {
            Some(limit) => crate::limits::name_session_limit(e, limit),
            None => e,
        }
    }

    /// True when the last statement run produced a dataframe (a query, not
    /// PRINT, SAVE or DDL).
    pub fn last_step_produced(&self) -> bool {
        self.last_step_produced
    }

    /// Limits what this session (and its forks) may do; see [`Policy`].
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// A new memory pool for the statements that follow (None: no limit);
    /// the rest of the runtime (spill folder, object stores) is kept. On
    /// `cluster` this is the client's pool; executors keep their own.
    pub fn set_memory_limit(&mut self, bytes: Option<u64>) {
        if let Some(ctx) = crate::limits::with_session_pool(&self.ctx, bytes) {
            self.ctx = ctx;
            self.memory_limit = Some(bytes);
        }
    }

    /// The Python interpreter and the `--udf` files whose functions USING
    /// finds by bare name.
    pub fn set_python(&mut self, python: PythonConfig) {
        self.python = python;
    }

    /// Rows the last statement run wrote, when it was an INSERT (or other
    /// DML); None otherwise.
    pub fn affected_rows(&self) -> Option<u64> {
        self.affected
    }

    async fn run_step(&mut self, step: &Step) -> Result<()> {
        self.last_step_produced = false;
        self.affected = None;
        self.policy.check(&step.statement, step.span)?;
        for n in &step.nested {
            self.policy.check(&n.statement, n.span)?;
        }
        let nested = self.register_nested(step).await?;
        let produced = match &step.statement {
            Statement::Previous => Some(self.input(None, step.span).await?),
            statement => lower::statement(self, statement, step.span).await?,
        };
        // The statement's plan holds the nested dataframes; their names can go.
        for name in nested {
            self.unregister_own(&name, step.span)?;
        }
        let Some(mut df) = produced else {
            if !step.modifiers.is_empty() || step.yield_.is_some() {
                return Err(Error::at(
                    step.span,
                    "PERSIST, BROADCAST, CHECKPOINT and YIELD need a statement that produces a dataframe",
                ));
            }
            return Ok(());
        };
        for m in &step.modifiers {
            df = self.apply_modifier(df, m, step.span).await?;
        }
        if let Some(name) = &step.assign {
            self.bind(name, df.clone())?;
        }
        if let Some(y) = &step.yield_ {
            self.yield_frame(df.clone(), y, step.assign.as_ref())
                .await?;
        }
        self.last = Some(df);
        self.last_span = step.span;
        self.last_step_produced = true;
        Ok(())
    }

    /// Runs the FugueSQL statements nested in a step's SQL and registers each
    /// under the name the SQL uses for it.
    async fn register_nested(&mut self, step: &Step) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for n in &step.nested {
            let df = lower::statement(self, &n.statement, n.span)
                .await?
                .ok_or_else(|| Error::at(n.span, "a nested statement must produce a dataframe"))?;
            self.register_own(&n.name, view(&df), n.span)?;
            names.push(n.name.clone());
        }
        Ok(names)
    }

    /// Binds `name` to `df`, visible as a table to later SQL.
    pub(crate) fn bind(&mut self, name: &Name, df: DataFrame) -> Result<()> {
        let key = name.normalized();
        self.register_own(&key, view(&df), name.span)?;
        self.frames.insert(key, df);
        Ok(())
    }

    /// The input of a statement: the named dataframe or table, or the
    /// previous dataframe when no name is given.
    pub(crate) async fn input(&self, name: Option<&Name>, span: Span) -> Result<DataFrame> {
        match name {
            None => self.last.clone().ok_or_else(|| {
                Error::at(
                    span,
                    "no previous dataframe: this statement needs an input (name one with FROM, or put a statement that produces a dataframe before it)",
                )
            }),
            Some(n) => self.named(n).await,
        }
    }

    pub(crate) async fn named(&self, n: &Name) -> Result<DataFrame> {
        let key = n.normalized();
        if let Some(df) = self.frames.get(&key) {
            return Ok(df.clone());
        }
        let table = TableReference::bare(key.clone());
        if self.ctx.table_exist(table.clone()).at(n.span)? {
            // Catalog tables (CREATE TABLE, CREATE EXTERNAL TABLE, YIELD TABLE).
            let provider = self.ctx.table_provider(table).await.at(n.span)?;
            return self.ctx.read_table(provider).at(n.span);
        }
        let mut known: Vec<&String> = self.frames.keys().collect();
        known.sort();
        let hint = if known.is_empty() {
            String::new()
        } else {
            format!(
                " (known: {})",
                known
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(Error::at(
            n.span,
            format!("unknown dataframe '{}'{hint}", n.value),
        ))
    }

    async fn apply_modifier(
        &mut self,
        df: DataFrame,
        m: &Modifier,
        span: Span,
    ) -> Result<DataFrame> {
        match m {
            // An in-memory table has exact statistics, so DataFusion's join
            // selection broadcasts it (CollectLeft) when it is small enough.
            // Both run the plan now: errors reading data name the files.
            Modifier::Persist | Modifier::Broadcast => self.materialize(df, span).await,
            Modifier::Checkpoint(_) => self.checkpoint(df, span).await,
        }
    }

    /// Runs `df` now and continues from its result: in memory on the local
    /// engines; on the cluster as Parquet files in the scratch folder (an
    /// in-memory table cannot be shipped to executors).
    async fn materialize(&mut self, df: DataFrame, span: Span) -> Result<DataFrame> {
        if self.engine == Engine::Cluster {
            return self.checkpoint(df, span).await;
        }
        let plan = df.clone();
        df.cache()
            .await
            .at(span)
            .map_err(|e| crate::sources::name_files(e, &plan))
    }

    /// Writes `df` to the scratch folder as Parquet and continues from there.
    async fn checkpoint(&mut self, df: DataFrame, span: Span) -> Result<DataFrame> {
        let name = format!("checkpoint-{}", unique_suffix());
        let path = self.scratch.location(&self.ctx, &name, span)?;
        let plan = df.clone();
        lower::checkpoint(&self.ctx, df, &path, span)
            .await
            .map_err(|e| crate::sources::name_files(e, &plan))
    }

    async fn yield_frame(
        &mut self,
        df: DataFrame,
        y: &Yield,
        assigned: Option<&Name>,
    ) -> Result<()> {
        let name = match (&y.name, assigned) {
            (Some(n), _) | (None, Some(n)) => n.clone(),
            (None, None) => {
                return Err(Error::at(
                    y.span,
                    "YIELD needs a name: write YIELD ... AS name, or assign the statement (name = ...)",
                ));
            }
        };
        let (frame, path) = match y.kind {
            YieldKind::Dataframe => (df, None),
            YieldKind::LocalDataframe => (self.materialize(df, y.span).await?, None),
            YieldKind::File => {
                let file = format!("{}-{}.parquet", name.normalized(), unique_suffix());
                let path = self.scratch.location(&self.ctx, &file, y.span)?;
                let frame = lower::checkpoint(&self.ctx, df, &path, y.span).await?;
                (frame, Some(PathBuf::from(path)))
            }
            YieldKind::Table => {
                let frame = self.materialize(df, y.span).await?;
                self.bind(&name, frame.clone())?;
                (frame, None)
            }
        };
        let key = name.normalized();
        self.yielded.retain(|existing| existing.name != key);
        self.yielded.push(Yielded {
            name: key,
            kind: y.kind,
            frame,
            path,
        });
        Ok(())
    }

    /// A local scratch folder of this session (see `crate::scratch`).
    pub(crate) fn scratch_path(&mut self, span: Span) -> Result<PathBuf> {
        self.scratch.local(span)
    }
}

/// The context `engine` runs on, and the embedded cluster it started.
async fn context(
    engine: Engine,
    cluster: &ClusterOptions,
) -> Result<(SessionContext, Option<EmbeddedCluster>)> {
    match engine {
        Engine::Cluster => crate::cluster::connect(cluster).await,
        other => Ok((crate::engine::local_context(other), None)),
    }
}

/// A dataframe as a table SQL can read. A view (not DataFusion's
/// DataFrame provider) because a view's plan can be serialized and shipped
/// to a cluster.
pub(crate) fn view(df: &DataFrame) -> Arc<dyn TableProvider> {
    Arc::new(ViewTable::new(df.logical_plan().clone(), None))
}

/// A short string unique within this process run.
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}
