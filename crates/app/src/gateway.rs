//! The access gateway: the one path by which data is read. It decides
//! (deny by default), picks the version, and hands the query engine only the
//! tables the caller may read.
//!
//! It serves all of a resource's data to its provider and, when published
//! with an unconditional open attribute, to everyone. Everything else is
//! read under a grant (ADR 0012): the first of the caller's grants that
//! permits the access mode, on the server's clock, decides; the query
//! engine then sees only the grant's shaped view. Every decision on data
//! that is not open to all, allowed or denied, is recorded as a usage event
//! before anything leaves, and a grant that stops being in force stops the
//! reads under way.
//!
//! **Architecture Invariant:** no other code path reads data files for a
//! caller. `versions` writes them; everything that reads goes through here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrow_array::RecordBatch;
use futures::StreamExt as _;
use gongshu_domain::{
    AccessMode, DatasetVersion, Grant, OpenAttribute, Resource, ResourceState, UsageEvent, ValidationError,
};
use gongshu_metadata::{GrantFilter, Transaction};
use gongshu_policy::Subject;
use gongshu_query::{DownloadFormat, QueryError, QueryPage, SandboxRules, Shape, SqlResult, Table, TableQuery};
use sha2::{Digest, Sha256};

use crate::catalog::visible_orgs;
use crate::{App, AppError, AppResult, Stop, Stops};

mod delivery;

pub use delivery::{DeliveryAnswer, DeliveryReceipt, DeliveryRequest};

/// A page of a resource's data.
#[derive(Debug, Clone)]
pub struct DataPage {
    /// The version read.
    pub version: i64,
    /// The rows and the total.
    pub page: QueryPage,
    /// The page size used.
    pub limit: usize,
    /// The offset used.
    pub offset: usize,
}

/// A download on its way: a stream of bytes with its name and type.
pub struct Download {
    /// Suggested file name.
    pub filename: String,
    /// HTTP content type.
    pub content_type: &'static str,
    /// The bytes.
    pub body: std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, AppError>> + Send>>,
}

/// How a subject reads a resource's data.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// All of it: the provider's own, or open to all.
    Whole,
    /// What a grant lets through.
    Granted(Box<Grant>),
}

impl Access {
    fn grant(&self) -> Option<&Grant> {
        match self {
            Access::Whole => None,
            Access::Granted(grant) => Some(grant),
        }
    }
}

/// Whether `subject` may read all of `resource`'s data without a grant
/// (its provider's own, or published and open to all), and if not, why.
pub(crate) fn whole_access(subject: &Subject, resource: &Resource) -> Result<(), AppError> {
    let own = match (subject, visible_orgs(subject)) {
        (Subject::User { system_admin: true, .. }, _) => true,
        (_, Some(orgs)) => orgs.contains(&resource.provider_org_id),
        // The bureau and auditors oversee the catalog; reading the data of
        // others takes a grant like everyone else's.
        (_, None) => false,
    };
    if own {
        return Ok(());
    }
    if resource.state != ResourceState::Published {
        return Err(AppError::Forbidden {
            en: "the data of an unpublished resource is served only under a grant",
            zh: "未发布的数据资源仅凭授权提供数据",
        });
    }
    match &resource.draft.open {
        OpenAttribute::Unconditional => Ok(()),
        OpenAttribute::Conditional { .. } => Err(AppError::Forbidden {
            en: "this data is open only under conditions (有条件开放); it is served under a grant after an approved application",
            zh: "该数据为有条件开放，须经申请批准并取得授权后方可访问",
        }),
        OpenAttribute::NotOpen { .. } => Err(AppError::Forbidden {
            en: "this data is not open (不予开放); it is served only under a grant",
            zh: "该数据不予开放，仅凭授权提供",
        }),
    }
}

/// The organizations a signed-in subject acts for.
fn member_orgs(subject: &Subject) -> Vec<String> {
    match subject {
        Subject::User { memberships, .. } => memberships.iter().map(|m| m.org_id.clone()).collect(),
        Subject::Anonymous => vec![],
    }
}

/// Where a read comes through, for the usage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The native data API (and the portal's preview).
    Api,
    /// A download.
    Download,
    /// Read-only SQL (native or CKAN's `datastore_search_sql`).
    Sql,
    /// The aggregate-only sandbox.
    Sandbox,
    /// Verification (数据核验).
    Verify,
    /// A product delivered to an operator's customer (产品交付).
    Product,
}

impl Channel {
    fn code(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Download => "download",
            Channel::Sql => "sql",
            Channel::Sandbox => "sandbox",
            Channel::Verify => "verify",
            Channel::Product => "product",
        }
    }
}

/// What a read asks of the gateway.
struct Ask<'a> {
    subject: &'a Subject,
    mode: AccessMode,
    channel: Channel,
    /// The grant the caller names, if it names one.
    grant_id: Option<&'a str>,
    /// What was asked (parameters or SQL), for the fingerprint.
    what: &'a str,
    /// Privacy budget the read was charged (ε, in millionths).
    privacy_cost_micros: i64,
}

/// One read as the gateway decided it.
struct Decided {
    resource: Resource,
    version: DatasetVersion,
    access: Access,
    /// The stop channels of the read (its grant's, and the freezes that
    /// could cover it), subscribed before the freezes were checked.
    stops: Stops,
}

impl Decided {
    fn table(&self, name: String) -> Table {
        let shape = match &self.access {
            Access::Whole => None,
            Access::Granted(grant) => {
                grant.resources.iter().find(|r| r.resource_id == self.resource.id).map(|granted| Shape {
                    columns: granted.columns.clone(),
                    masks: granted.masks.clone(),
                    row_filter: granted.row_filter.clone(),
                    hash_key: grant.hash_key.as_bytes().to_vec(),
                })
            }
        };
        Table { name, location: self.version.location.clone(), shape }
    }

    /// The table for verification: the granted rows and columns with their
    /// values unmasked, since a value is compared and never returned.
    fn unmasked_table(&self, name: String) -> Table {
        let mut table = self.table(name);
        if let Some(shape) = &mut table.shape {
            shape.masks.clear();
        }
        table
    }

    /// Whether reads of this are recorded: under a grant, or of data that
    /// is not open to all (its provider's own).
    fn is_recorded(&self) -> bool {
        let open_to_all = self.resource.state == ResourceState::Published
            && matches!(self.resource.draft.open, OpenAttribute::Unconditional);
        self.grant().is_some() || !open_to_all
    }

    fn grant(&self) -> Option<&Grant> {
        self.access.grant()
    }
}

/// What a read asked, for its fingerprint.
fn fingerprint(channel: Channel, what: &str) -> String {
    let digest = Sha256::new().chain_update(channel.code()).chain_update([0]).chain_update(what).finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn params_text(params: &[(String, String)]) -> String {
    params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The rows of a result and the SHA-256 of it as JSON records: what the
/// caller received, so a recorded result can be checked against a copy.
fn rows_and_hash(batches: &[RecordBatch]) -> AppResult<(i64, String)> {
    let records = gongshu_query::records_json(batches).map_err(|e| AppError::Internal(Box::new(e)))?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    Ok((rows as i64, gongshu_ledger::sha256_hex(records.to_string().as_bytes())))
}

/// The SHA-256 of a verification's answer, as recorded.
fn answer_hash(matched: bool) -> String {
    gongshu_ledger::sha256_hex(if matched { b"true".as_slice() } else { b"false".as_slice() })
}

/// Which grant to use, when the caller names one (`_grant=`).
fn take_grant_param(params: &[(String, String)]) -> (Option<String>, Vec<(String, String)>) {
    let mut grant = None;
    let mut rest = Vec::new();
    for (key, value) in params {
        if key == "_grant" {
            grant = Some(value.clone());
        } else {
            rest.push((key.clone(), value.clone()));
        }
    }
    (grant, rest)
}

fn query_error(error: QueryError) -> AppError {
    if error.is_bad_query() {
        let field = match &error {
            QueryError::Invalid { param, .. } => param.clone(),
            _ => "query".to_owned(),
        };
        let message_en = match &error {
            QueryError::Invalid { en, .. } => en.clone(),
            other => other.to_string(),
        };
        let message_zh = match &error {
            QueryError::Invalid { zh, .. } => zh.clone(),
            other => other.message_zh(),
        };
        AppError::Validation(ValidationError { field, message_en, message_zh }.into())
    } else {
        AppError::Internal(Box::new(error))
    }
}

impl App {
    /// The entry, if the caller may see it or holds a grant on it.
    async fn resource_for_data(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource_id: &str,
    ) -> AppResult<Resource> {
        match self.visible_resource(tx, subject, resource_id).await {
            Err(AppError::NotFound { .. }) if *subject != Subject::Anonymous => {
                let filter = GrantFilter {
                    grantee_org_ids: Some(member_orgs(subject)),
                    resource_id: Some(resource_id.to_owned()),
                    ..GrantFilter::default()
                };
                if tx.grants(&filter).await?.is_empty() {
                    return Err(AppError::NotFound { entity: "resource", id: resource_id.to_owned() });
                }
                Ok(tx.resource(resource_id).await?)
            }
            other => other,
        }
    }

    /// The decision (deny by default, on the server's clock): the whole
    /// table for its provider or when it is open to all, else the first of
    /// the caller's grants (or the one named) that permits `mode`.
    async fn decide_access(
        &self,
        tx: &mut Box<dyn Transaction>,
        subject: &Subject,
        resource: &Resource,
        mode: AccessMode,
        grant_id: Option<&str>,
    ) -> Result<Access, (AppError, Option<String>)> {
        let whole = whole_access(subject, resource);
        if whole.is_ok() && grant_id.is_none() {
            return Ok(Access::Whole);
        }
        let filter = GrantFilter {
            grantee_org_ids: Some(member_orgs(subject)),
            resource_id: Some(resource.id.clone()),
            ..GrantFilter::default()
        };
        let grants = match tx.grants(&filter).await {
            Ok(grants) => grants,
            Err(error) => return Err((error.into(), None)),
        };
        let now = self.clock.now();
        let mut first_denial = None;
        for grant in grants.into_iter().filter(|grant| grant_id.is_none_or(|id| grant.id == id)) {
            match grant.permits(now, &resource.id, mode) {
                Ok(_) => return Ok(Access::Granted(Box::new(grant))),
                Err(denial) => {
                    first_denial.get_or_insert((denial, grant.id.clone()));
                }
            }
        }
        match (first_denial, grant_id) {
            (Some((denial, id)), _) => {
                let (en, zh) = denial.reason();
                Err((AppError::Forbidden { en, zh }, Some(format!("{}:{id}", denial.code()))))
            }
            (None, Some(id)) => {
                Err((AppError::NotFound { entity: "grant", id: id.to_owned() }, Some("grant_not_held".to_owned())))
            }
            (None, None) => Err((whole.expect_err("whole access returned above"), Some("no_grant".to_owned()))),
        }
    }

    /// Decides, records a denial, then picks the version to read (the
    /// newest by default).
    async fn readable(&self, ask: &Ask<'_>, resource_id: &str, version: Option<i64>) -> AppResult<Decided> {
        let Ask { subject, mode, grant_id, .. } = *ask;
        let mut tx = self.store.read().await?;
        let resource = self.resource_for_data(&mut tx, subject, resource_id).await?;
        let access = match self.decide_access(&mut tx, subject, &resource, mode, grant_id).await {
            Ok(access) => access,
            Err((error, reason)) => {
                drop(tx);
                self.append_usage(&refusal(ask, self.clock.now(), &resource.id, None, reason)).await?;
                return Err(error);
            }
        };
        drop(tx);
        let grant = access.grant();
        let grant_id = grant.map(|grant| grant.id.clone());
        if let Some(id) = &grant_id
            && self.grant_watch.is_out_of_force(id)
        {
            // Its resumption is not heard of here yet: the records say it is in force.
            self.apply_stop(&Stop::Grant { id: id.clone() }).await?;
        }
        let stops = self.subscribe_stops(subject, &[&resource.id], grant);
        // Checked in a transaction begun after the subscription: SQLite
        // reads from the snapshot of a transaction's first query, which
        // would not show a freeze recorded since.
        let mut tx = self.store.read().await?;
        if let Some(freeze) = self.freeze_stopping(&mut tx, subject, &resource.id, grant_id.as_deref()).await? {
            drop(tx);
            let reason = Some(format!("frozen:{}", freeze.id));
            self.append_usage(&refusal(ask, self.clock.now(), &resource.id, grant_id, reason)).await?;
            return Err(frozen());
        }
        let version = match version {
            Some(number) => tx.version(resource_id, number).await?,
            None => tx.versions(resource_id).await?.into_iter().next().ok_or_else(|| AppError::NotFound {
                entity: "version",
                id: format!("{resource_id} (no data has been loaded)"),
            })?,
        };
        Ok(Decided { resource, version, access, stops })
    }

    /// Listens, from now, to the stop channels of a read of `resource_ids`
    /// (under `grant_id`): call it before checking the freezes, so one
    /// recorded in between still stops the read.
    pub(crate) fn subscribe_stops(&self, subject: &Subject, resource_ids: &[&str], grant: Option<&Grant>) -> Stops {
        let grant_id = grant.map(|grant| grant.id.as_str());
        let mut keys: Vec<String> = grant_id.map(str::to_owned).into_iter().collect();
        for resource_id in resource_ids {
            keys.extend(App::freeze_keys(subject, resource_id, grant_id));
        }
        keys.sort();
        keys.dedup();
        // A read under way also ends with its grant's term.
        let term_left = grant.map(|grant| (grant.valid_until - self.clock.now()).to_std().unwrap_or_default());
        self.grant_watch.subscribe(&keys).until(term_left)
    }

    async fn append_usage(&self, event: &UsageEvent) -> AppResult<i64> {
        let mut tx = self.store.write().await?;
        let seq = tx.insert_usage_event(event).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Records an allowed read of data that is not open to all (under a
    /// grant, or the provider's own), before its result leaves: if it
    /// cannot be recorded, nothing leaves. A read that failed once it had
    /// started is recorded too, with `failure` as its reason.
    async fn record_read(
        &self,
        ask: &Ask<'_>,
        decided: &Decided,
        rows_out: Option<i64>,
        result_hash: Option<String>,
        failure: Option<&str>,
    ) -> AppResult<Option<i64>> {
        match self.read_event(ask, decided, rows_out, result_hash, failure) {
            Some(event) => Ok(Some(self.append_usage(&event).await?)),
            None => Ok(None),
        }
    }

    /// The usage event of a read, when reads of this are recorded.
    fn read_event(
        &self,
        ask: &Ask<'_>,
        decided: &Decided,
        rows_out: Option<i64>,
        result_hash: Option<String>,
        failure: Option<&str>,
    ) -> Option<UsageEvent> {
        let Ask { subject, mode, channel, what, privacy_cost_micros, .. } = *ask;
        if !decided.is_recorded() {
            return None;
        }
        let resource = &decided.resource;
        let (org_id, grant_id, purpose) = match decided.grant() {
            Some(grant) => (grant.grantee_org_id.clone(), Some(grant.id.clone()), Some(grant.purpose.clone())),
            None => (resource.provider_org_id.clone(), None, Some("提供单位使用本单位数据".to_owned())),
        };
        Some(UsageEvent {
            seq: 0,
            at: self.clock.now(),
            user_id: crate::actor_id(subject),
            org_id: Some(org_id),
            grant_id,
            resource_id: resource.id.clone(),
            version: Some(decided.version.version),
            mode,
            channel: channel.code().to_owned(),
            purpose,
            allowed: failure != Some(BUDGET_SPENT),
            reason: failure.map(str::to_owned),
            query_fingerprint: fingerprint(channel, what),
            rows_out,
            bytes_out: None,
            privacy_cost_micros,
            result_hash,
        })
    }

    /// Runs `work` until it ends or one of its stops fires (a grant stops
    /// being in force or its term ends, or a freeze covers the read),
    /// whichever comes first.
    async fn while_granted<T>(&self, stops: Stops, work: impl Future<Output = AppResult<T>>) -> AppResult<T> {
        let stopped = stops.fired();
        tokio::select! {
            result = work => result,
            _ = stopped => Err(grant_stopped()),
        }
    }

    /// A page of a resource's data: filters, text search, sort, fields, group-by.
    /// `_grant=<id>` picks which of the caller's grants to read under.
    pub async fn query_data(
        &self,
        subject: &Subject,
        resource_id: &str,
        params: &[(String, String)],
    ) -> AppResult<DataPage> {
        let (grant_id, params) = take_grant_param(params);
        let query = TableQuery::from_params(&params).map_err(query_error)?;
        let what = params_text(&params);
        let ask = Ask {
            subject,
            mode: AccessMode::Query,
            channel: Channel::Api,
            grant_id: grant_id.as_deref(),
            what: &what,
            privacy_cost_micros: 0,
        };
        let decided = self.readable(&ask, resource_id, query.version).await?;
        let table = decided.table("data".into());
        let page = self
            .while_granted(decided.stops.clone(), async {
                self.query.table_query(&table, &query).await.map_err(query_error)
            })
            .await;
        let page = self.failed_if_err(&ask, &decided, page).await?;
        // Open data is read by everyone on every page view: only recorded reads pay for the hash.
        if decided.is_recorded() {
            let (rows, hash) = rows_and_hash(&page.batches)?;
            self.record_read(&ask, &decided, Some(rows), Some(hash), None).await?;
        }
        Ok(DataPage { version: decided.version.version, page, limit: query.limit, offset: query.offset })
    }

    /// Every row a data query matches, encoded in `format`, streamed.
    pub async fn download_data(
        &self,
        subject: &Subject,
        resource_id: &str,
        params: &[(String, String)],
        format: &str,
    ) -> AppResult<Download> {
        let (grant_id, params) = take_grant_param(params);
        let query = TableQuery::from_params(&params).map_err(query_error)?;
        let what = format!("{format}?{}", params_text(&params));
        let ask = Ask {
            subject,
            mode: AccessMode::Download,
            channel: Channel::Download,
            grant_id: grant_id.as_deref(),
            what: &what,
            privacy_cost_micros: 0,
        };
        let decided = self.readable(&ask, resource_id, query.version).await?;
        let stem = file_stem(&decided.resource, decided.version.version);
        let granted = decided.grant().is_some();
        let (filename, content_type, body): (String, &'static str, ByteStream) = if format == "parquet" {
            if granted
                || !(query.filters.is_empty()
                    && query.text.is_empty()
                    && query.aggregates.is_empty()
                    && query.fields.is_empty()
                    && query.sort.is_empty())
            {
                return Err(ValidationError::new(
                    "format",
                    "parquet downloads are whole versions of open data; pick csv, xlsx, json or ndjson",
                    "Parquet 仅支持下载开放数据的整个版本；请选择 csv、xlsx、json 或 ndjson",
                )
                .into());
            }
            let stream =
                self.data.stream(&decided.version.location).await.map_err(|e| AppError::Internal(Box::new(e)))?;
            let body = futures::StreamExt::map(stream, |chunk| chunk.map_err(|e| AppError::Internal(Box::new(e))));
            (format!("{stem}.parquet"), "application/vnd.apache.parquet", Box::pin(body))
        } else {
            let table = decided.table("data".into());
            if format == "xlsx" {
                let stream = self.query.table_stream(&table, &query).await.map_err(query_error)?;
                let body = gongshu_query::encode_xlsx(stream, &self.scratch, "数据").await.map_err(query_error)?;
                (
                    format!("{stem}.xlsx"),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    Box::pin(futures::StreamExt::map(body, |chunk| chunk.map_err(query_error))),
                )
            } else {
                let format = DownloadFormat::parse(format).map_err(query_error)?;
                let stream = self.query.table_stream(&table, &query).await.map_err(query_error)?;
                let body = futures::StreamExt::map(gongshu_query::encode_stream(stream, format), |chunk| {
                    chunk.map_err(query_error)
                });
                (format!("{stem}.{}", format.extension()), format.content_type(), Box::pin(body))
            }
        };
        let stops = decided.stops.clone();
        let body = match self.record_read(&ask, &decided, None, None, None).await? {
            // Open data is not recorded, but a freeze of it stops it too.
            None => self.stoppable(body, stops),
            Some(seq) => self.metered(body, stops, seq),
        };
        Ok(Download { filename, content_type, body })
    }

    /// A recorded download: counts the bytes that leave and records them
    /// when the stream ends (or is dropped), and stops like any download.
    fn metered(&self, body: ByteStream, stops: Stops, seq: i64) -> ByteStream {
        let sent = Arc::new(AtomicU64::new(0));
        let guard = MeterGuard { store: self.store.clone(), seq, sent: sent.clone() };
        let counted = body.map(move |chunk| {
            let _keep = &guard;
            if let Ok(bytes) = &chunk {
                sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            chunk
        });
        self.stoppable(Box::pin(counted), stops)
    }

    /// A download that ends with an error the moment one of its stop
    /// channels fires (its grant stops being in force, or a freeze covers
    /// it, on this server or another) or its grant's term ends.
    fn stoppable(&self, body: ByteStream, stops: Stops) -> ByteStream {
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = stopped.clone();
        let stop = Box::pin(async move {
            stops.fired().await;
            flag.store(true, Ordering::SeqCst);
        });
        let tail = futures::stream::once(async move { stopped.load(Ordering::SeqCst).then(|| Err(grant_stopped())) })
            .filter_map(|item| async move { item });
        Box::pin(body.take_until(stop).chain(tail))
    }

    /// Read-only SQL over resources' newest versions. Tables are named by
    /// resource id, as CKAN's `datastore_search_sql` names them
    /// (`SELECT * FROM "<id>"`); each must be readable by the caller, whole
    /// or through the shaped view of a grant.
    pub async fn sql(&self, subject: &Subject, sql: &str) -> AppResult<SqlResult> {
        let ask = Ask {
            subject,
            mode: AccessMode::Query,
            channel: Channel::Sql,
            grant_id: None,
            what: sql,
            privacy_cost_micros: 0,
        };
        let (tables, decided) = self.sql_tables(&ask).await?;
        let stops = Stops::all(decided.iter().map(|read| read.stops.clone()));
        let result = self.while_granted(stops, async { self.query.sql(&tables, sql).await.map_err(query_error) }).await;
        let result = self.failed_if_err_all(&ask, &decided, result).await?;
        self.record_sql(&ask, &decided, &result).await?;
        Ok(result)
    }

    /// The aggregate-only sandbox (可用不可见): SQL whose result holds only
    /// COUNT, SUM and AVG per group, with groups under the grant's minimum
    /// suppressed. Joins only where the grant allows them. Under a grant
    /// with a privacy budget, only counts are answered, with Laplace noise
    /// for `epsilon` (0.1 when not given), charged to the budget before the
    /// query runs and given back if it fails.
    pub async fn sandbox_sql(
        &self,
        subject: &Subject,
        sql: &str,
        grant_id: Option<&str>,
        epsilon: Option<f64>,
    ) -> AppResult<SqlResult> {
        let ask = Ask {
            subject,
            mode: AccessMode::Aggregate,
            channel: Channel::Sandbox,
            grant_id,
            what: sql,
            privacy_cost_micros: 0,
        };
        let (tables, decided) = self.sql_tables(&ask).await?;
        let stops = Stops::all(decided.iter().map(|read| read.stops.clone()));
        let grants: Vec<&Grant> = decided.iter().filter_map(Decided::grant).collect();
        let min_group_size = grants.iter().map(|grant| u64::from(grant.min_group_size)).max().unwrap_or(1);
        let same_grant = grants.windows(2).all(|pair| pair[0].id == pair[1].id);
        let allow_joins = grants.iter().all(|grant| grant.allow_joins) && (same_grant || grants.is_empty());
        let budgeted: Vec<&str> = {
            let mut ids: Vec<&str> =
                grants.iter().filter(|g| g.epsilon_budget_micros.is_some()).map(|g| g.id.as_str()).collect();
            ids.dedup();
            ids
        };
        let epsilon = if budgeted.is_empty() { None } else { Some(epsilon.unwrap_or(DEFAULT_EPSILON)) };
        let cost = match epsilon {
            None => 0,
            Some(epsilon) if epsilon.is_finite() && (0.01..=10.0).contains(&epsilon) => (epsilon * 1e6).ceil() as i64,
            Some(_) => {
                return Err(ValidationError::new(
                    "epsilon",
                    "ε must be a number from 0.01 to 10",
                    "ε 必须在 0.01 至 10 之间",
                )
                .into());
            }
        };
        // Planned and admitted before anything is charged: a refusal costs nothing.
        let rules = SandboxRules { min_group_size, allow_joins, epsilon };
        let prepared = self.query.prepare_aggregate(&tables, sql, rules).await.map_err(query_error)?;
        let mut charged = Vec::new();
        for id in &budgeted {
            if let Err(error) = self.charge(id, cost).await {
                for id in charged {
                    self.refund(id, cost).await?;
                }
                let denied = Ask { privacy_cost_micros: 0, ..ask };
                for read in &decided {
                    self.record_read(&denied, read, None, None, Some(BUDGET_SPENT)).await?;
                }
                return Err(error);
            }
            charged.push(*id);
        }
        // From here the query runs: what it spends stays spent, even if it
        // fails, since failing is an answer too.
        let ask = Ask { privacy_cost_micros: cost, ..ask };
        let result = self.while_granted(stops, async { self.query.run(prepared).await.map_err(query_error) }).await;
        let result = self.failed_if_err_all(&ask, &decided, result).await?;
        self.record_sql(&ask, &decided, &result).await?;
        Ok(result)
    }

    /// Records a read that failed once it had started, then passes the error on.
    async fn failed_if_err<T>(&self, ask: &Ask<'_>, decided: &Decided, result: AppResult<T>) -> AppResult<T> {
        if result.is_err() {
            self.record_read(ask, decided, None, None, Some("failed")).await?;
        }
        result
    }

    async fn failed_if_err_all<T>(&self, ask: &Ask<'_>, decided: &[Decided], result: AppResult<T>) -> AppResult<T> {
        if result.is_err() {
            for read in decided {
                self.record_read(ask, read, None, None, Some("failed")).await?;
            }
        }
        result
    }

    /// Charges ε to a grant's budget, or refuses when too little is left.
    async fn charge(&self, grant_id: &str, micros: i64) -> AppResult<()> {
        let mut tx = self.store.write().await?;
        if !tx.charge_privacy_budget(grant_id, micros).await? {
            return Err(AppError::Forbidden {
                en: "the grant's privacy budget is spent: too little ε is left for this query",
                zh: "该授权的隐私预算已用尽，剩余 ε 不足以执行本次查询",
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn refund(&self, grant_id: &str, micros: i64) -> AppResult<()> {
        let mut tx = self.store.write().await?;
        tx.refund_privacy_budget(grant_id, micros).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Verification (数据核验): whether a record with these values exists
    /// among the rows the caller may verify against, answered yes or no;
    /// the record itself never leaves. Each value is compared exactly, as
    /// the column's type; every column must be one the grant covers.
    pub async fn verify(
        &self,
        subject: &Subject,
        resource_id: &str,
        criteria: &[(String, String)],
        grant_id: Option<&str>,
    ) -> AppResult<bool> {
        if criteria.is_empty() {
            return Err(ValidationError::required("criteria").into());
        }
        let what = params_text(criteria);
        let ask = Ask {
            subject,
            mode: AccessMode::Verify,
            channel: Channel::Verify,
            grant_id,
            what: &what,
            privacy_cost_micros: 0,
        };
        let decided = self.readable(&ask, resource_id, None).await?;
        let table = decided.unmasked_table("data".into());
        let masked = decided.table("data".into()).shape.map(|shape| shape.masks).unwrap_or_default();
        if let Some(shape) = &table.shape {
            for (column, _) in criteria {
                // A masked value is withheld on every channel: confirming guesses about it would reveal it.
                if !shape.columns.contains(column) || masked.contains_key(column) {
                    return Err(ValidationError::new(
                        format!("criteria.{column}"),
                        format!("`{column}` is not a column this grant verifies"),
                        format!("数据项 `{column}` 不在该授权的核验范围内"),
                    )
                    .into());
                }
            }
        }
        let matched = self
            .while_granted(decided.stops.clone(), async {
                self.query.matches(&table, criteria).await.map_err(query_error)
            })
            .await;
        let matched = self.failed_if_err(&ask, &decided, matched).await?;
        self.record_read(&ask, &decided, Some(0), Some(answer_hash(matched)), None).await?;
        Ok(matched)
    }

    async fn sql_tables(&self, ask: &Ask<'_>) -> AppResult<(Vec<Table>, Vec<Decided>)> {
        let sql = ask.what;
        if sql.trim().is_empty() {
            return Err(ValidationError::required("sql").into());
        }
        let names = self.query.referenced_tables(sql).map_err(query_error)?;
        let mut tables = Vec::new();
        let mut decided = Vec::new();
        for name in names {
            let read = match self.readable(ask, &name, None).await {
                Err(AppError::NotFound { entity: "resource", .. }) => {
                    return Err(ValidationError::new(
                        "sql",
                        format!(
                            "no resource has the id `{name}`; tables are resource ids, as in SELECT * FROM \"<id>\""
                        ),
                        format!("不存在 id 为 `{name}` 的数据资源；表名为数据资源 id，如 SELECT * FROM \"<id>\""),
                    )
                    .into());
                }
                other => other?,
            };
            tables.push(read.table(name));
            decided.push(read);
        }
        Ok((tables, decided))
    }

    async fn record_sql(&self, ask: &Ask<'_>, decided: &[Decided], result: &SqlResult) -> AppResult<()> {
        if !decided.iter().any(Decided::is_recorded) {
            return Ok(());
        }
        let (rows, hash) = rows_and_hash(&result.batches)?;
        for read in decided {
            self.record_read(ask, read, Some(rows), Some(hash.clone()), None).await?;
        }
        Ok(())
    }
}

/// The reason recorded when a query is refused for want of ε.
const BUDGET_SPENT: &str = "budget_spent";

/// ε a sandbox query spends under a budget when it does not say.
pub(crate) const DEFAULT_EPSILON: f64 = 0.1;

/// The bytes of a download.
type ByteStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, AppError>> + Send>>;

/// The usage event of a refused read, recorded before the refusal is answered.
fn refusal(
    ask: &Ask<'_>,
    at: chrono::DateTime<chrono::Utc>,
    resource_id: &str,
    grant_id: Option<String>,
    reason: Option<String>,
) -> UsageEvent {
    UsageEvent {
        seq: 0,
        at,
        user_id: crate::actor_id(ask.subject),
        // The organization the caller acts for, so it sees its own refusals.
        org_id: member_orgs(ask.subject).into_iter().next(),
        grant_id,
        resource_id: resource_id.to_owned(),
        version: None,
        mode: ask.mode,
        channel: ask.channel.code().to_owned(),
        purpose: None,
        allowed: false,
        reason,
        query_fingerprint: fingerprint(ask.channel, ask.what),
        rows_out: None,
        bytes_out: None,
        privacy_cost_micros: 0,
        result_hash: None,
    }
}

fn frozen() -> AppError {
    AppError::Forbidden {
        en: "the data bureau froze this data, grant or account (emergency handling); reads stop until it is released",
        zh: "数据管理机构已冻结该数据、授权或账号（应急处置），解除前暂停访问",
    }
}

fn grant_stopped() -> AppError {
    AppError::Forbidden {
        en: "the grant stopped being in force, or the data bureau froze the read, while it ran",
        zh: "读取过程中授权已失效，或被数据管理机构冻结",
    }
}

/// Records the bytes a metered download sent, however it ends.
struct MeterGuard {
    store: Arc<dyn gongshu_metadata::MetadataStore>,
    seq: i64,
    sent: Arc<AtomicU64>,
}

impl Drop for MeterGuard {
    fn drop(&mut self) {
        let store = self.store.clone();
        let seq = self.seq;
        let sent = i64::try_from(self.sent.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let result = async {
                    let mut tx = store.write().await?;
                    tx.complete_usage_event(seq, None, sent).await?;
                    tx.commit().await
                }
                .await;
                if let Err(error) = result {
                    tracing::error!(%error, seq, "could not record the bytes of a download");
                }
            });
        }
    }
}

/// A download's file name: the resource's registration code (or id) and version.
fn file_stem(resource: &Resource, version: i64) -> String {
    let code = resource.registration_code.as_ref().map_or(resource.id.as_str(), |c| c.as_str());
    format!("{code}-v{version}")
}
