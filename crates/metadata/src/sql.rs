//! [`SqlStore`]: the metadata store on SQLite or PostgreSQL through sqlx's
//! `Any` driver. Queries use `$n` placeholders, which both drivers accept.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use gongshu_domain::{
    AccessMode, Agreement, AgreementKind, AgreementRecord, AgreementState, AgreementTerms, BundleState, Grant,
    GrantBasis, GrantState, GrantedResource, SharingBundle, SharingDuty, SharingRequest, SharingState, UpdateCycle,
    UsageEvent, UsageReport,
};
use gongshu_domain::{
    ApiToken, ApplicationKind, DatasetVersion, DuplicateFlag, DuplicateFlagState, HarvestKind, HarvestRecord,
    HarvestSource, HistoryEntry, MembershipRecord, Objection, ObjectionState, OrgCode, OrgKind, Organization, Outcome,
    PublicRequest, RegionCode, Registration, RegistrationCode, RegistrationState, RequestKind, RequestState, Resource,
    ResourceDraft, ResourceState, Role, User, entities::ENTITY_KINDS,
};
use gongshu_ledger::{Entry, Hash, NodeId, Pseudonymizer, StateChange, UsageDecision, UsageOutcome, sha256_hex};
use serde_json::json;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, Row};

mod ledger;
mod products;
mod supervision;

use gongshu_domain::supervision::{Alert, Freeze, FreezeTarget, TrackerExemption};
use gongshu_domain::{Delivery, Disclosure, PriceRecord, Product, RevenueCeiling, Subscription};

use crate::{
    AgreementFilter, Announcements, DailyUsage, DeliveryFilter, GrantFilter, ItemMatch, LedgerHead, LedgerRecord,
    LedgeredUsage, MetadataStore, Page, ProductFilter, RegistrationFilter, RequestFilter, ResourceFilter,
    SharingFilter, StoreError, StoreResult, StoredCheckpoint, SubscriptionFilter, Transaction, UsageDimension,
    UsageFilter,
};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, one file in the data directory, WAL mode.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The metadata store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    pseudonyms: Arc<OnceLock<Pseudonymizer>>,
    /// Where it connected, for listening to announcements.
    url: DatabaseUrl,
}

/// A database URL that shows without its password.
#[derive(Clone)]
struct DatabaseUrl(Arc<str>);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl SqlStore {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and brings the
    /// schema up to date.
    pub async fn connect(url: &str) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                format!("unsupported database url `{}`: use sqlite:// or postgres://", redact(url)).into(),
            )));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                options
                    // SQLite allows one writer; more connections only help readers.
                    .max_connections(8)
                    .after_connect(|connection, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; full
                            // sync keeps every committed transaction across a
                            // power cut; the busy timeout makes writers queue
                            // instead of failing.
                            connection
                                .execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                                )
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(url).await?,
        };
        crate::migrations::migrator(backend).run(&pool).await?;
        let store = SqlStore { pool, backend, pseudonyms: Arc::default(), url: DatabaseUrl(url.into()) };
        store.fill_search_text().await?;
        store.ensure_pseudonym_key().await?;
        store.backfill_ledger().await?;
        Ok(store)
    }

    /// Creates the ledger's pseudonym key on first start. It is made here,
    /// committed before any entry needs it, so every entry of an instance
    /// uses the same key.
    async fn ensure_pseudonym_key(&self) -> StoreResult<()> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|error| StoreError::Corrupt(format!("no random source: {error}")))?;
        sqlx::query("UPDATE ledger_head SET pseudonym_key = $1 WHERE id = 1 AND pseudonym_key IS NULL")
            .bind(gongshu_ledger::hex(&key))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Fills `search_text` of rows written before it existed.
    async fn fill_search_text(&self) -> StoreResult<()> {
        let rows = sqlx::query("SELECT id, content FROM resource WHERE search_text = ''").fetch_all(&self.pool).await?;
        for row in rows {
            let id: String = row.try_get(0)?;
            let draft = decode_draft(&row.try_get::<String, _>(1)?)?;
            sqlx::query("UPDATE resource SET search_text = $1 WHERE id = $2")
                .bind(search_text(&draft))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Writes the entries of history and usage recorded before the ledger
    /// existed (an instance upgraded from an earlier release), once, in
    /// their order, so that its whole past is traceable too.
    async fn backfill_ledger(&self) -> StoreResult<()> {
        let mut tx = SqlTransaction {
            tx: match self.backend {
                Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
                Backend::Postgres => self.pool.begin().await?,
            },
            backend: self.backend,
            pseudonyms: self.pseudonyms.clone(),
        };
        if sqlx::query("SELECT 1 FROM ledger_entry LIMIT 1").fetch_optional(&mut *tx.tx).await?.is_some() {
            return Ok(());
        }
        let pseudonyms = tx.pseudonymizer().await?;
        let history = sqlx::query("SELECT * FROM history ORDER BY seq").fetch_all(&mut *tx.tx).await?;
        let usage = sqlx::query("SELECT * FROM usage_event ORDER BY seq").fetch_all(&mut *tx.tx).await?;
        if history.is_empty() && usage.is_empty() {
            return Ok(());
        }
        let mut queued = Vec::with_capacity(history.len() + usage.len());
        for row in &history {
            let step = history_from_row(row)?;
            queued.push((state_entry(&step, step.seq, &pseudonyms), step.seq));
        }
        for row in &usage {
            let event = usage_event_from_row(row)?;
            queued.push((usage_entry(&event, event.seq, &pseudonyms), event.seq));
        }
        tracing::info!(entries = queued.len(), "writing the ledger entries of the records kept before the ledger");
        tx.queue_ledger(&queued, Utc::now()).await?;
        tx.tx.commit().await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Hides the password of a database URL in messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &credentials[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[async_trait]
impl MetadataStore for SqlStore {
    async fn write(&self) -> StoreResult<Box<dyn Transaction>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Box::new(SqlTransaction { tx, backend: self.backend, pseudonyms: self.pseudonyms.clone() }))
    }

    async fn read(&self) -> StoreResult<Box<dyn Transaction>> {
        Ok(Box::new(SqlTransaction {
            tx: self.pool.begin().await?,
            backend: self.backend,
            pseudonyms: self.pseudonyms.clone(),
        }))
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn announcements(&self) -> StoreResult<Option<Announcements>> {
        match self.backend {
            Backend::Sqlite => Ok(None),
            Backend::Postgres => {
                let channel: String =
                    sqlx::query(AssertSqlSafe(format!("SELECT CAST({} AS TEXT)", crate::announcements::CHANNEL_SQL)))
                        .fetch_one(&self.pool)
                        .await?
                        .try_get(0)?;
                Ok(Some(Announcements::listen(&self.url.0, &channel).await?))
            }
        }
    }
}

struct SqlTransaction {
    tx: sqlx::Transaction<'static, Any>,
    /// Which dialect bulk statements are written in.
    backend: Backend,
    /// The instance's pseudonym key, read once per process.
    pseudonyms: Arc<OnceLock<Pseudonymizer>>,
}

/// A value to bind into a query built at run time.
#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

impl Bind {
    /// `query` with this value bound as its next parameter.
    fn bound<'q>(query: Query<'q, Any, AnyArguments>, value: Bind) -> Query<'q, Any, AnyArguments> {
        match value {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        }
    }
}

impl From<String> for Bind {
    fn from(text: String) -> Bind {
        Bind::Text(text)
    }
}

impl From<i64> for Bind {
    fn from(int: i64) -> Bind {
        Bind::Int(int)
    }
}

/// A query built at run time: its text and its binds, numbered `$1…`.
#[derive(Default)]
struct DynSql {
    text: String,
    binds: Vec<Bind>,
}

impl DynSql {
    fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    /// `(…)` of the values, each bound.
    fn bind_list<T: Into<Bind>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value.into());
        }
        self.push(")")
    }

    fn query(&self) -> Query<'_, Any, AnyArguments> {
        let query = sqlx::query(AssertSqlSafe(self.text.clone()));
        self.binds.iter().cloned().fold(query, Bind::bound)
    }
}

const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The account the platform acts as (the application's `SYSTEM_ACTOR`):
/// not a person, so the ledger names it as it is.
const SYSTEM_ACCOUNT: &str = "system";

/// A time as ledger entries write it: RFC 3339 in UTC, microseconds.
fn ledger_time(at: DateTime<Utc>) -> String {
    ts(at)
}

/// The ledger entry of a history step: people as pseudonyms, the opinion as
/// its hash.
fn state_entry(e: &HistoryEntry, seq: i64, pseudonyms: &Pseudonymizer) -> Entry {
    let person = |id: &str| if id == SYSTEM_ACCOUNT { id.to_owned() } else { pseudonyms.pseudonym(id) };
    Entry::State(StateChange {
        v: gongshu_ledger::entry::FORMAT_VERSION,
        seq,
        entity: e.entity_kind.to_owned(),
        id: if e.entity_kind == "user" { person(&e.entity_id) } else { e.entity_id.clone() },
        action: e.action.clone(),
        from: e.from_state.clone(),
        to: e.to_state.clone(),
        actor: e.actor_user_id.as_deref().map_or_else(|| "public".to_owned(), person),
        opinion_sha256: e.opinion.as_deref().map(|text| sha256_hex(text.as_bytes())),
        at: ledger_time(e.at),
    })
}

/// The ledger entry of a gateway decision: the person as a pseudonym, what
/// was asked and answered as keyed commitments.
fn usage_entry(e: &UsageEvent, seq: i64, pseudonyms: &Pseudonymizer) -> Entry {
    Entry::Usage(UsageDecision {
        v: gongshu_ledger::entry::FORMAT_VERSION,
        seq,
        at: ledger_time(e.at),
        subject: e.user_id.as_deref().map_or_else(|| "public".to_owned(), |id| pseudonyms.pseudonym(id)),
        org: e.org_id.clone(),
        grant: e.grant_id.clone(),
        resource: e.resource_id.clone(),
        version: e.version,
        mode: e.mode.code().to_owned(),
        channel: e.channel.clone(),
        purpose: e.purpose.clone(),
        allowed: e.allowed,
        reason: e.reason.clone(),
        query_mac: pseudonyms.commit(&e.query_fingerprint),
        rows_out: e.rows_out,
        bytes_out: e.bytes_out,
        epsilon_micros: e.privacy_cost_micros,
        result_mac: e.result_hash.as_deref().map(|hash| pseudonyms.commit(hash)),
    })
}

fn ts(at: DateTime<Utc>) -> String {
    at.format(TIMESTAMP_FORMAT).to_string()
}

fn opt_ts(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(ts)
}

fn opt_day(date: Option<NaiveDate>) -> Option<String> {
    date.map(day)
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_ts(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("bad timestamp `{text}`")))
}

fn parse_opt_ts(text: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    text.as_deref().map(parse_ts).transpose()
}

fn parse_day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::from_str(text).map_err(|_| StoreError::Corrupt(format!("bad date `{text}`")))
}

fn parse_opt_day(text: Option<String>) -> StoreResult<Option<NaiveDate>> {
    text.as_deref().map(parse_day).transpose()
}

/// Parses a stored code, reporting corruption rather than a user error.
fn stored<T>(parsed: Result<T, gongshu_domain::ValidationError>) -> StoreResult<T> {
    parsed.map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// Stored content is versioned so old rows stay readable after the draft
/// type grows.
fn encode_draft(draft: &ResourceDraft) -> String {
    json!({ "version": 1, "draft": draft }).to_string()
}

fn decode_draft(text: &str) -> StoreResult<ResourceDraft> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("resource content: {e}")))?;
    match value.get("version").and_then(|v| v.as_i64()) {
        Some(1) => serde_json::from_value(value["draft"].take())
            .map_err(|e| StoreError::Corrupt(format!("resource content v1: {e}"))),
        other => Err(StoreError::Corrupt(format!("resource content has unknown version {other:?}"))),
    }
}

/// What catalog searches match: names, abstracts, theme, keywords and
/// items, lower-cased (all of Unicode) the same way on both backends.
fn search_text(draft: &ResourceDraft) -> String {
    let mut parts: Vec<&str> = vec![&draft.name_zh, &draft.abstract_zh, &draft.theme];
    parts.extend(draft.name_en.as_deref());
    parts.extend(draft.abstract_en.as_deref());
    parts.extend(draft.keywords.iter().map(String::as_str));
    for item in &draft.items {
        parts.push(&item.name);
        parts.push(&item.title);
    }
    parts.join("\n").to_lowercase()
}

fn not_found(entity: &'static str, id: &str) -> StoreError {
    StoreError::NotFound { entity, id: id.to_owned() }
}

fn organization_from_row(row: &AnyRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: row.try_get("id")?,
        code: row.try_get::<Option<String>, _>("code")?.map(|c| stored(OrgCode::parse("code", &c))).transpose()?,
        name_zh: row.try_get("name_zh")?,
        name_en: row.try_get("name_en")?,
        kind: stored(OrgKind::parse("kind", &row.try_get::<String, _>("kind")?))?,
        region: stored(RegionCode::parse("region_code", &row.try_get::<String, _>("region_code")?))?,
        parent_id: row.try_get("parent_id")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
    })
}

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        system_admin: row.try_get::<i64, _>("system_admin")? != 0,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
    })
}

fn token_from_row(row: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        token_hash: row.try_get("token_hash")?,
        prefix: row.try_get("prefix")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        expires_at: parse_opt_ts(row.try_get("expires_at")?)?,
        revoked_at: parse_opt_ts(row.try_get("revoked_at")?)?,
    })
}

const RESOURCE_COLUMNS: &str =
    "id, provider_org_id, state, registration_code, content, created_at, updated_at, published_at, row_version";

fn resource_from_row(row: &AnyRow) -> StoreResult<Resource> {
    Ok(Resource {
        id: row.try_get("id")?,
        provider_org_id: row.try_get("provider_org_id")?,
        state: stored(ResourceState::parse("state", &row.try_get::<String, _>("state")?))?,
        registration_code: row
            .try_get::<Option<String>, _>("registration_code")?
            .map(|c| stored(RegistrationCode::parse("registration_code", &c)))
            .transpose()?,
        draft: decode_draft(&row.try_get::<String, _>("content")?)?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        published_at: parse_opt_ts(row.try_get("published_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

const REGISTRATION_COLUMNS: &str = "id, resource_id, application, state, registrant_org_id, reason, proposed, code, \
     submitted_at, state_since, due_date, publicity_start, publicity_end, updated_at, row_version";

fn registration_from_row(row: &AnyRow) -> StoreResult<Registration> {
    Ok(Registration {
        id: row.try_get("id")?,
        resource_id: row.try_get("resource_id")?,
        application: stored(ApplicationKind::parse("application", &row.try_get::<String, _>("application")?))?,
        state: stored(RegistrationState::parse("state", &row.try_get::<String, _>("state")?))?,
        registrant_org_id: row.try_get("registrant_org_id")?,
        reason: row.try_get("reason")?,
        proposed: row.try_get::<Option<String>, _>("proposed")?.as_deref().map(decode_draft).transpose()?,
        code: row
            .try_get::<Option<String>, _>("code")?
            .map(|c| stored(RegistrationCode::parse("code", &c)))
            .transpose()?,
        submitted_at: parse_ts(&row.try_get::<String, _>("submitted_at")?)?,
        state_since: parse_day(&row.try_get::<String, _>("state_since")?)?,
        due_date: parse_opt_day(row.try_get("due_date")?)?,
        publicity_start: parse_opt_day(row.try_get("publicity_start")?)?,
        publicity_end: parse_opt_day(row.try_get("publicity_end")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn objection_from_row(row: &AnyRow) -> StoreResult<Objection> {
    Ok(Objection {
        id: row.try_get("id")?,
        registration_id: row.try_get("registration_id")?,
        objector_user_id: row.try_get("objector_user_id")?,
        claim: row.try_get("claim")?,
        state: stored(ObjectionState::parse("state", &row.try_get::<String, _>("state")?))?,
        opinion: row.try_get("opinion")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        resolved_at: parse_opt_ts(row.try_get("resolved_at")?)?,
    })
}

fn harvest_source_from_row(row: &AnyRow) -> StoreResult<HarvestSource> {
    Ok(HarvestSource {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        kind: stored(HarvestKind::parse("kind", &row.try_get::<String, _>("kind")?))?,
        url: row.try_get("url")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        last_run_at: parse_opt_ts(row.try_get("last_run_at")?)?,
        last_report: row.try_get("last_report")?,
    })
}

fn harvest_record_from_row(row: &AnyRow) -> StoreResult<HarvestRecord> {
    Ok(HarvestRecord {
        resource_id: row.try_get("resource_id")?,
        source_id: row.try_get("source_id")?,
        remote_id: row.try_get("remote_id")?,
        landing_page: row.try_get("landing_page")?,
        publisher: row.try_get("publisher")?,
        distributions_json: row.try_get("distributions")?,
        remote_modified: row.try_get("remote_modified")?,
        content_hash: row.try_get("content_hash")?,
        harvested_at: parse_ts(&row.try_get::<String, _>("harvested_at")?)?,
        present: row.try_get::<i64, _>("present")? != 0,
    })
}

fn request_from_row(row: &AnyRow) -> StoreResult<PublicRequest> {
    Ok(PublicRequest {
        id: row.try_get("id")?,
        kind: stored(RequestKind::parse("kind", &row.try_get::<String, _>("kind")?))?,
        resource_id: row.try_get("resource_id")?,
        org_id: row.try_get("org_id")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        requester_name: row.try_get("requester_name")?,
        requester_contact: row.try_get("requester_contact")?,
        state: stored(RequestState::parse("state", &row.try_get::<String, _>("state")?))?,
        outcome: row
            .try_get::<Option<String>, _>("outcome")?
            .map(|code| stored(Outcome::parse("outcome", &code)))
            .transpose()?,
        answer: row.try_get("answer")?,
        planned_date: parse_opt_day(row.try_get("planned_date")?)?,
        submitted_at: parse_ts(&row.try_get::<String, _>("submitted_at")?)?,
        due_date: parse_day(&row.try_get::<String, _>("due_date")?)?,
        answered_at: parse_opt_ts(row.try_get("answered_at")?)?,
        answered_by: row.try_get("answered_by")?,
    })
}

fn flag_from_row(row: &AnyRow) -> StoreResult<DuplicateFlag> {
    Ok(DuplicateFlag {
        id: row.try_get("id")?,
        identity_key: row.try_get("identity_key")?,
        item_title: row.try_get("item_title")?,
        resource_id: row.try_get("resource_id")?,
        existing_resource_id: row.try_get("existing_resource_id")?,
        state: stored(DuplicateFlagState::parse("state", &row.try_get::<String, _>("state")?))?,
        lead_org_id: row.try_get("lead_org_id")?,
        opinion: row.try_get("opinion")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        resolved_at: parse_opt_ts(row.try_get("resolved_at")?)?,
    })
}

fn version_from_row(row: &AnyRow) -> StoreResult<DatasetVersion> {
    Ok(DatasetVersion {
        id: row.try_get("id")?,
        resource_id: row.try_get("resource_id")?,
        version: row.try_get("version")?,
        location: row.try_get("location")?,
        row_count: row.try_get("row_count")?,
        parquet_bytes: row.try_get("parquet_bytes")?,
        source_bytes: row.try_get("source_bytes")?,
        content_hash: row.try_get("content_hash")?,
        source_name: row.try_get("source_name")?,
        schema_json: row.try_get("schema_json")?,
        load_json: row.try_get("load_json")?,
        profile_json: row.try_get("profile_json")?,
        created_by: row.try_get("created_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
    })
}

fn encode_modes(modes: &[AccessMode]) -> String {
    modes.iter().map(|mode| mode.code()).collect::<Vec<_>>().join(",")
}

fn decode_modes(text: &str) -> StoreResult<Vec<AccessMode>> {
    text.split(',').filter(|code| !code.is_empty()).map(|code| stored(AccessMode::parse("modes", code))).collect()
}

/// Versioned like a resource's content, so old grants stay readable.
fn encode_granted(resources: &[GrantedResource]) -> String {
    json!({ "version": 1, "resources": resources }).to_string()
}

fn decode_granted(text: &str) -> StoreResult<Vec<GrantedResource>> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("grant resources: {e}")))?;
    match value.get("version").and_then(|v| v.as_i64()) {
        Some(1) => serde_json::from_value(value["resources"].take())
            .map_err(|e| StoreError::Corrupt(format!("grant resources v1: {e}"))),
        other => Err(StoreError::Corrupt(format!("grant resources have unknown version {other:?}"))),
    }
}

fn sharing_request_from_row(row: &AnyRow) -> StoreResult<SharingRequest> {
    Ok(SharingRequest {
        id: row.try_get("id")?,
        requester_org_id: row.try_get("requester_org_id")?,
        provider_org_id: row.try_get("provider_org_id")?,
        resource_id: row.try_get("resource_id")?,
        columns: serde_json::from_str(&row.try_get::<String, _>("columns")?)
            .map_err(|e| StoreError::Corrupt(format!("sharing request columns: {e}")))?,
        modes: decode_modes(&row.try_get::<String, _>("modes")?)?,
        purpose: row.try_get("purpose")?,
        legal_basis: row.try_get("legal_basis")?,
        scenario: row.try_get("scenario")?,
        needed_until: parse_day(&row.try_get::<String, _>("needed_until")?)?,
        state: stored(SharingState::parse("state", &row.try_get::<String, _>("state")?))?,
        due_date: parse_opt_day(row.try_get("due_date")?)?,
        opinion: row.try_get("opinion")?,
        grant_id: row.try_get("grant_id")?,
        bundle_id: row.try_get("bundle_id")?,
        submitted_by: row.try_get("submitted_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn bundle_from_row(row: &AnyRow) -> StoreResult<SharingBundle> {
    Ok(SharingBundle {
        id: row.try_get("id")?,
        requester_org_id: row.try_get("requester_org_id")?,
        title: row.try_get("title")?,
        service: row.try_get("service")?,
        state: stored(BundleState::parse("state", &row.try_get::<String, _>("state")?))?,
        submitted_by: row.try_get("submitted_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn grant_from_row(row: &AnyRow) -> StoreResult<Grant> {
    Ok(Grant {
        id: row.try_get("id")?,
        basis: stored(GrantBasis::parse("basis", &row.try_get::<String, _>("basis")?))?,
        source_id: row.try_get("source_id")?,
        grantee_org_id: row.try_get("grantee_org_id")?,
        grantor_org_id: row.try_get("grantor_org_id")?,
        resources: decode_granted(&row.try_get::<String, _>("resources")?)?,
        modes: decode_modes(&row.try_get::<String, _>("modes")?)?,
        purpose: row.try_get("purpose")?,
        scenario: row.try_get("scenario")?,
        valid_from: parse_ts(&row.try_get::<String, _>("valid_from")?)?,
        valid_until: parse_ts(&row.try_get::<String, _>("valid_until")?)?,
        min_group_size: u32::try_from(row.try_get::<i64, _>("min_group_size")?)
            .map_err(|_| StoreError::Corrupt("grant min_group_size out of range".into()))?,
        epsilon_budget_micros: row.try_get("epsilon_budget_micros")?,
        epsilon_spent_micros: row.try_get("epsilon_spent_micros")?,
        allow_joins: row.try_get::<i64, _>("allow_joins")? != 0,
        state: stored(GrantState::parse("state", &row.try_get::<String, _>("state")?))?,
        state_reason: row.try_get("state_reason")?,
        hash_key: row.try_get("hash_key")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

/// An agreement's terms and record, versioned like a grant's resources.
fn encode_versioned<T: serde::Serialize>(key: &str, value: &T) -> String {
    let mut document = serde_json::Map::new();
    document.insert("version".into(), json!(1));
    // Plain structs of strings, numbers and string-keyed maps always serialize.
    document.insert(key.into(), serde_json::to_value(value).unwrap_or_default());
    serde_json::Value::Object(document).to_string()
}

fn decode_versioned<T: serde::de::DeserializeOwned>(what: &str, key: &str, text: &str) -> StoreResult<T> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?;
    match value.get("version").and_then(|v| v.as_i64()) {
        Some(1) => {
            serde_json::from_value(value[key].take()).map_err(|e| StoreError::Corrupt(format!("{what} v1: {e}")))
        }
        other => Err(StoreError::Corrupt(format!("{what} has unknown version {other:?}"))),
    }
}

fn agreement_from_row(row: &AnyRow) -> StoreResult<Agreement> {
    Ok(Agreement {
        id: row.try_get("id")?,
        kind: stored(AgreementKind::parse("kind", &row.try_get::<String, _>("kind")?))?,
        grantor_org_id: row.try_get("grantor_org_id")?,
        holder_org_id: row.try_get("holder_org_id")?,
        resource_id: row.try_get("resource_id")?,
        terms: decode_versioned::<AgreementTerms>("agreement terms", "terms", &row.try_get::<String, _>("terms")?)?,
        record: decode_versioned::<AgreementRecord>(
            "agreement record",
            "record",
            &row.try_get::<String, _>("record")?,
        )?,
        state: stored(AgreementState::parse("state", &row.try_get::<String, _>("state")?))?,
        due_date: parse_opt_day(row.try_get("due_date")?)?,
        opinion: row.try_get("opinion")?,
        grant_id: row.try_get("grant_id")?,
        submitted_by: row.try_get("submitted_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn duty_from_row(row: &AnyRow) -> StoreResult<SharingDuty> {
    Ok(SharingDuty {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        basis: row.try_get("basis")?,
        update_cycle: stored(UpdateCycle::parse("update_cycle", &row.try_get::<String, _>("update_cycle")?))?,
        first_due: parse_day(&row.try_get::<String, _>("first_due")?)?,
        resource_id: row.try_get("resource_id")?,
        created_by: row.try_get("created_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
        row_version: row.try_get("row_version")?,
    })
}

fn usage_report_from_row(row: &AnyRow) -> StoreResult<UsageReport> {
    Ok(UsageReport {
        seq: row.try_get("seq")?,
        agreement_id: row.try_get("agreement_id")?,
        period_start: parse_day(&row.try_get::<String, _>("period_start")?)?,
        period_end: parse_day(&row.try_get::<String, _>("period_end")?)?,
        summary: row.try_get("summary")?,
        outputs: row.try_get("outputs")?,
        incidents: row.try_get("incidents")?,
        submitted_by: row.try_get("submitted_by")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
    })
}

fn usage_event_from_row(row: &AnyRow) -> StoreResult<UsageEvent> {
    Ok(UsageEvent {
        seq: row.try_get("seq")?,
        at: parse_ts(&row.try_get::<String, _>("at")?)?,
        user_id: row.try_get("user_id")?,
        org_id: row.try_get("org_id")?,
        grant_id: row.try_get("grant_id")?,
        resource_id: row.try_get("resource_id")?,
        version: row.try_get("version")?,
        mode: stored(AccessMode::parse("mode", &row.try_get::<String, _>("mode")?))?,
        channel: row.try_get("channel")?,
        purpose: row.try_get("purpose")?,
        allowed: row.try_get::<i64, _>("allowed")? != 0,
        reason: row.try_get("reason")?,
        query_fingerprint: row.try_get("query_fingerprint")?,
        rows_out: row.try_get("rows_out")?,
        bytes_out: row.try_get("bytes_out")?,
        privacy_cost_micros: row.try_get("privacy_cost_micros")?,
        result_hash: row.try_get("result_hash")?,
    })
}

fn history_from_row(row: &AnyRow) -> StoreResult<HistoryEntry> {
    let kind: String = row.try_get("entity_kind")?;
    let entity_kind = ENTITY_KINDS
        .iter()
        .find(|known| **known == kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown history entity kind `{kind}`")))?;
    Ok(HistoryEntry {
        seq: row.try_get("seq")?,
        entity_kind,
        entity_id: row.try_get("entity_id")?,
        actor_user_id: row.try_get("actor_user_id")?,
        action: row.try_get("action")?,
        from_state: row.try_get("from_state")?,
        to_state: row.try_get("to_state")?,
        opinion: row.try_get("opinion")?,
        at: parse_ts(&row.try_get::<String, _>("at")?)?,
    })
}

/// States in which an entry's items count for 一数一源: submitted or registered.
const ITEM_COUNTING_STATES: [ResourceState; 4] =
    [ResourceState::PendingReview, ResourceState::Registered, ResourceState::Published, ResourceState::Unpublished];

impl SqlTransaction {
    async fn replace_items(&mut self, resource: &Resource) -> StoreResult<()> {
        sqlx::query("DELETE FROM resource_item WHERE resource_id = $1")
            .bind(resource.id.clone())
            .execute(&mut *self.tx)
            .await?;
        for (position, item) in resource.draft.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO resource_item (resource_id, position, identity_key, title) VALUES ($1, $2, $3, $4)",
            )
            .bind(resource.id.clone())
            .bind(position as i64)
            .bind(item.identity_key())
            .bind(item.title.clone())
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn count(&mut self, sql: &DynSql) -> StoreResult<i64> {
        let row = sql.query().fetch_one(&mut *self.tx).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

#[async_trait]
impl Transaction for SqlTransaction {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }

    async fn announce(&mut self, message: &str) -> StoreResult<()> {
        if message.len() > crate::announcements::MAX_MESSAGE {
            return Err(StoreError::Corrupt(format!("an announcement of {} bytes is too long", message.len())));
        }
        if self.backend == Backend::Postgres {
            sqlx::query(AssertSqlSafe(format!("SELECT pg_notify({}, $1)", crate::announcements::CHANNEL_SQL)))
                .bind(message.to_owned())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn insert_organization(&mut self, org: &Organization) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO organization (id, code, name_zh, name_en, kind, region_code, parent_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org.id.clone())
        .bind(org.code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(org.name_zh.clone())
        .bind(org.name_en.clone())
        .bind(org.kind.code())
        .bind(org.region.as_str().to_owned())
        .bind(org.parent_id.clone())
        .bind(ts(org.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn organization(&mut self, id: &str) -> StoreResult<Organization> {
        let row = sqlx::query("SELECT * FROM organization WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("organization", id))?;
        organization_from_row(&row)
    }

    async fn organizations(&mut self) -> StoreResult<Vec<Organization>> {
        let rows = sqlx::query("SELECT * FROM organization ORDER BY created_at, id").fetch_all(&mut *self.tx).await?;
        rows.iter().map(organization_from_row).collect()
    }

    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_user (id, username, display_name, password_hash, system_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.clone())
        .bind(user.username.clone())
        .bind(user.display_name.clone())
        .bind(user.password_hash.clone())
        .bind(i64::from(user.system_admin))
        .bind(ts(user.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn user(&mut self, id: &str) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM app_user WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("user", id))?;
        user_from_row(&row)
    }

    async fn user_by_username(&mut self, username: &str) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM app_user WHERE username = $1")
            .bind(username.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("user", username))?;
        user_from_row(&row)
    }

    async fn insert_membership(
        &mut self,
        user_id: &str,
        org_id: &str,
        role: Role,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO membership (user_id, org_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, org_id, role) DO NOTHING",
        )
        .bind(user_id.to_owned())
        .bind(org_id.to_owned())
        .bind(role.code())
        .bind(ts(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn memberships(&mut self, user_id: &str) -> StoreResult<Vec<MembershipRecord>> {
        let rows = sqlx::query(
            "SELECT m.user_id, m.org_id, m.role, o.kind FROM membership m \
             JOIN organization o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY m.created_at, m.org_id, m.role",
        )
        .bind(user_id.to_owned())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MembershipRecord {
                    user_id: row.try_get("user_id")?,
                    org_id: row.try_get("org_id")?,
                    org_kind: stored(OrgKind::parse("kind", &row.try_get::<String, _>("kind")?))?,
                    role: stored(Role::parse("role", &row.try_get::<String, _>("role")?))?,
                })
            })
            .collect()
    }

    async fn insert_token(&mut self, token: &ApiToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_token (id, user_id, name, token_hash, prefix, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.id.clone())
        .bind(token.user_id.clone())
        .bind(token.name.clone())
        .bind(token.token_hash.clone())
        .bind(token.prefix.clone())
        .bind(ts(token.created_at))
        .bind(opt_ts(token.expires_at))
        .bind(opt_ts(token.revoked_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn token_by_hash(&mut self, token_hash: &str) -> StoreResult<ApiToken> {
        let row = sqlx::query("SELECT * FROM api_token WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("token", "(hash)"))?;
        token_from_row(&row)
    }

    async fn token(&mut self, id: &str) -> StoreResult<ApiToken> {
        let row = sqlx::query("SELECT * FROM api_token WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("token", id))?;
        token_from_row(&row)
    }

    async fn tokens_of(&mut self, user_id: &str) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT * FROM api_token WHERE user_id = $1 ORDER BY created_at DESC, id")
            .bind(user_id.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&mut self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let result = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ts(at))
            .bind(id.to_owned())
            .execute(&mut *self.tx)
            .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("token", id));
        }
        Ok(())
    }

    async fn insert_resource(&mut self, resource: &Resource) -> StoreResult<()> {
        let draft = &resource.draft;
        sqlx::query(
            "INSERT INTO resource (id, provider_org_id, state, registration_code, name_zh, name_en, level, share_kind, \
             open_kind, content, created_at, updated_at, published_at, row_version, search_text) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(resource.id.clone())
        .bind(resource.provider_org_id.clone())
        .bind(resource.state.code())
        .bind(resource.registration_code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(draft.name_zh.clone())
        .bind(draft.name_en.clone())
        .bind(draft.level().code())
        .bind(draft.share.parts().0)
        .bind(draft.open.parts().0)
        .bind(encode_draft(draft))
        .bind(ts(resource.created_at))
        .bind(ts(resource.updated_at))
        .bind(opt_ts(resource.published_at))
        .bind(resource.row_version)
        .bind(search_text(draft))
        .execute(&mut *self.tx)
        .await?;
        self.replace_items(resource).await
    }

    async fn resource(&mut self, id: &str) -> StoreResult<Resource> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {RESOURCE_COLUMNS} FROM resource WHERE id = $1")))
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("resource", id))?;
        resource_from_row(&row)
    }

    async fn update_resource(&mut self, resource: &Resource) -> StoreResult<Resource> {
        let draft = &resource.draft;
        let result = sqlx::query(
            "UPDATE resource SET state = $1, registration_code = $2, name_zh = $3, name_en = $4, level = $5, \
             share_kind = $6, open_kind = $7, content = $8, updated_at = $9, published_at = $10, \
             search_text = $13, row_version = row_version + 1 WHERE id = $11 AND row_version = $12",
        )
        .bind(resource.state.code())
        .bind(resource.registration_code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(draft.name_zh.clone())
        .bind(draft.name_en.clone())
        .bind(draft.level().code())
        .bind(draft.share.parts().0)
        .bind(draft.open.parts().0)
        .bind(encode_draft(draft))
        .bind(ts(resource.updated_at))
        .bind(opt_ts(resource.published_at))
        .bind(resource.id.clone())
        .bind(resource.row_version)
        .bind(search_text(draft))
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.resource(&resource.id).await?;
            return Err(StoreError::Stale { entity: "resource", id: resource.id.clone() });
        }
        self.replace_items(resource).await?;
        Ok(Resource { row_version: resource.row_version + 1, ..resource.clone() })
    }

    async fn resources(&mut self, filter: &ResourceFilter) -> StoreResult<Page<Resource>> {
        let mut conditions = DynSql::default();
        conditions.push(" WHERE 1 = 1");
        if !filter.states.is_empty() {
            conditions.push(" AND state IN ").bind_list(filter.states.iter().map(|s| s.code().to_owned()));
        }
        if let Some(provider) = &filter.provider_org_id {
            conditions.push(" AND provider_org_id = ").bind(Bind::Text(provider.clone()));
        }
        if let Some(orgs) = &filter.visible_to_orgs {
            conditions.push(" AND (state = ").bind(Bind::Text(ResourceState::Published.code().to_owned()));
            if filter.registered_visible {
                let registered = [ResourceState::Registered, ResourceState::Unpublished];
                conditions.push(" OR state IN ").bind_list(registered.iter().map(|s| s.code().to_owned()));
            }
            if !orgs.is_empty() {
                conditions.push(" OR provider_org_id IN ").bind_list(orgs.iter().cloned());
            }
            conditions.push(")");
        }
        if let Some(text) = &filter.text {
            let pattern =
                format!("%{}%", text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            conditions.push(" AND search_text LIKE ").bind(Bind::Text(pattern)).push(" ESCAPE '\\'");
        }
        let mut count = DynSql { text: "SELECT COUNT(*) FROM resource".into(), binds: vec![] };
        let mut select = DynSql { text: format!("SELECT {RESOURCE_COLUMNS} FROM resource"), binds: vec![] };
        for sql in [&mut count, &mut select] {
            sql.text.push_str(&conditions.text);
        }
        // Binds are numbered in order, so both queries share the condition's binds.
        count.binds = conditions.binds.clone();
        select.binds = conditions.binds.clone();
        select.push(" ORDER BY updated_at DESC, id LIMIT ").bind(Bind::Int(filter.limit));
        select.push(" OFFSET ").bind(Bind::Int(filter.offset));
        let total = self.count(&count).await?;
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        let items = rows.iter().map(resource_from_row).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn insert_request(&mut self, r: &PublicRequest) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO public_request (id, kind, resource_id, org_id, title, body, requester_name, requester_contact, \
             state, outcome, answer, planned_date, submitted_at, due_date, answered_at, answered_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(r.id.clone())
        .bind(r.kind.code())
        .bind(r.resource_id.clone())
        .bind(r.org_id.clone())
        .bind(r.title.clone())
        .bind(r.body.clone())
        .bind(r.requester_name.clone())
        .bind(r.requester_contact.clone())
        .bind(r.state.code())
        .bind(r.outcome.map(|o| o.code()))
        .bind(r.answer.clone())
        .bind(r.planned_date.map(day))
        .bind(ts(r.submitted_at))
        .bind(day(r.due_date))
        .bind(opt_ts(r.answered_at))
        .bind(r.answered_by.clone())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_harvest_source(&mut self, source: &HarvestSource) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO harvest_source (id, org_id, kind, url, created_at, last_run_at, last_report) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(source.id.clone())
        .bind(source.org_id.clone())
        .bind(source.kind.code())
        .bind(source.url.clone())
        .bind(ts(source.created_at))
        .bind(opt_ts(source.last_run_at))
        .bind(source.last_report.clone())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn harvest_source(&mut self, id: &str) -> StoreResult<HarvestSource> {
        let row = sqlx::query("SELECT * FROM harvest_source WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("harvest source", id))?;
        harvest_source_from_row(&row)
    }

    async fn harvest_sources(&mut self) -> StoreResult<Vec<HarvestSource>> {
        let rows = sqlx::query("SELECT * FROM harvest_source ORDER BY created_at, id").fetch_all(&mut *self.tx).await?;
        rows.iter().map(harvest_source_from_row).collect()
    }

    async fn record_harvest_run(&mut self, source: &HarvestSource) -> StoreResult<()> {
        let result = sqlx::query("UPDATE harvest_source SET last_run_at = $1, last_report = $2 WHERE id = $3")
            .bind(opt_ts(source.last_run_at))
            .bind(source.last_report.clone())
            .bind(source.id.clone())
            .execute(&mut *self.tx)
            .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("harvest source", &source.id));
        }
        Ok(())
    }

    async fn put_harvest_record(&mut self, r: &HarvestRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO harvest_record (resource_id, source_id, remote_id, landing_page, publisher, distributions, \
             remote_modified, content_hash, harvested_at, present) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (resource_id) DO UPDATE SET landing_page = excluded.landing_page, \
             publisher = excluded.publisher, distributions = excluded.distributions, \
             remote_modified = excluded.remote_modified, content_hash = excluded.content_hash, \
             harvested_at = excluded.harvested_at, present = excluded.present",
        )
        .bind(r.resource_id.clone())
        .bind(r.source_id.clone())
        .bind(r.remote_id.clone())
        .bind(r.landing_page.clone())
        .bind(r.publisher.clone())
        .bind(r.distributions_json.clone())
        .bind(r.remote_modified.clone())
        .bind(r.content_hash.clone())
        .bind(ts(r.harvested_at))
        .bind(i64::from(r.present))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn harvest_records(&mut self, source_id: &str) -> StoreResult<Vec<HarvestRecord>> {
        let rows = sqlx::query("SELECT * FROM harvest_record WHERE source_id = $1 ORDER BY remote_id")
            .bind(source_id.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(harvest_record_from_row).collect()
    }

    async fn harvest_record(&mut self, resource_id: &str) -> StoreResult<Option<HarvestRecord>> {
        let row = sqlx::query("SELECT * FROM harvest_record WHERE resource_id = $1")
            .bind(resource_id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(harvest_record_from_row).transpose()
    }

    async fn request(&mut self, id: &str) -> StoreResult<PublicRequest> {
        let row = sqlx::query("SELECT * FROM public_request WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("request", id))?;
        request_from_row(&row)
    }

    async fn answer_request(&mut self, r: &PublicRequest) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE public_request SET state = $1, outcome = $2, answer = $3, planned_date = $4, answered_at = $5, \
             answered_by = $6 WHERE id = $7 AND state = 'open'",
        )
        .bind(r.state.code())
        .bind(r.outcome.map(|o| o.code()))
        .bind(r.answer.clone())
        .bind(r.planned_date.map(day))
        .bind(opt_ts(r.answered_at))
        .bind(r.answered_by.clone())
        .bind(r.id.clone())
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "request", id: r.id.clone() });
        }
        Ok(())
    }

    async fn requests(&mut self, filter: &RequestFilter) -> StoreResult<Page<PublicRequest>> {
        let mut conditions = DynSql::default();
        conditions.push(" WHERE 1 = 1");
        if let Some(kind) = filter.kind {
            conditions.push(" AND kind = ").bind(Bind::Text(kind.code().to_owned()));
        }
        if let Some(state) = filter.state {
            conditions.push(" AND state = ").bind(Bind::Text(state.code().to_owned()));
        }
        if let Some(resource_id) = &filter.resource_id {
            conditions.push(" AND resource_id = ").bind(Bind::Text(resource_id.clone()));
        }
        if let Some(orgs) = &filter.org_ids {
            if orgs.is_empty() {
                conditions.push(" AND 1 = 0");
            } else {
                conditions.push(" AND org_id IN ").bind_list(orgs.iter().cloned());
            }
        }
        let mut count =
            DynSql { text: format!("SELECT COUNT(*) FROM public_request{}", conditions.text), binds: vec![] };
        count.binds = conditions.binds.clone();
        let mut select = DynSql {
            text: format!("SELECT * FROM public_request{}", conditions.text),
            binds: conditions.binds.clone(),
        };
        select.push(" ORDER BY submitted_at DESC, id LIMIT ").bind(Bind::Int(filter.limit));
        select.push(" OFFSET ").bind(Bind::Int(filter.offset));
        let total = self.count(&count).await?;
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        let items = rows.iter().map(request_from_row).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn resources_by_ids(&mut self, ids: &[String]) -> StoreResult<Vec<Resource>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut select =
            DynSql { text: format!("SELECT {RESOURCE_COLUMNS} FROM resource WHERE id IN "), binds: vec![] };
        select.bind_list(ids.iter().cloned());
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(resource_from_row).collect()
    }

    async fn resource_row_versions(&mut self, state: ResourceState) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT id, row_version FROM resource WHERE state = $1")
            .bind(state.code().to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?))).collect()
    }

    async fn items_held_elsewhere(
        &mut self,
        resource_id: &str,
        provider_org_id: &str,
        identity_keys: &[String],
    ) -> StoreResult<Vec<ItemMatch>> {
        if identity_keys.is_empty() {
            return Ok(vec![]);
        }
        let mut sql = DynSql::default();
        sql.push(
            "SELECT DISTINCT item.identity_key, item.resource_id FROM resource_item item \
             JOIN resource other ON other.id = item.resource_id WHERE item.identity_key IN ",
        )
        .bind_list(identity_keys.iter().cloned())
        .push(" AND item.resource_id <> ")
        .bind(Bind::Text(resource_id.to_owned()))
        .push(" AND other.provider_org_id <> ")
        .bind(Bind::Text(provider_org_id.to_owned()))
        .push(" AND other.state IN ")
        .bind_list(ITEM_COUNTING_STATES.iter().map(|s| s.code().to_owned()))
        .push(" ORDER BY item.identity_key, item.resource_id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|row| Ok(ItemMatch { identity_key: row.try_get(0)?, existing_resource_id: row.try_get(1)? }))
            .collect()
    }

    async fn insert_registration(&mut self, r: &Registration) -> StoreResult<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO registration ({REGISTRATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        )))
        .bind(r.id.clone())
        .bind(r.resource_id.clone())
        .bind(r.application.code())
        .bind(r.state.code())
        .bind(r.registrant_org_id.clone())
        .bind(r.reason.clone())
        .bind(r.proposed.as_ref().map(encode_draft))
        .bind(r.code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(ts(r.submitted_at))
        .bind(day(r.state_since))
        .bind(r.due_date.map(day))
        .bind(r.publicity_start.map(day))
        .bind(r.publicity_end.map(day))
        .bind(ts(r.updated_at))
        .bind(r.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn registration(&mut self, id: &str) -> StoreResult<Registration> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {REGISTRATION_COLUMNS} FROM registration WHERE id = $1")))
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("registration", id))?;
        registration_from_row(&row)
    }

    async fn update_registration(&mut self, r: &Registration) -> StoreResult<Registration> {
        let result = sqlx::query(
            "UPDATE registration SET state = $1, reason = $2, proposed = $3, code = $4, submitted_at = $5, \
             state_since = $6, due_date = $7, publicity_start = $8, publicity_end = $9, updated_at = $10, \
             row_version = row_version + 1 WHERE id = $11 AND row_version = $12",
        )
        .bind(r.state.code())
        .bind(r.reason.clone())
        .bind(r.proposed.as_ref().map(encode_draft))
        .bind(r.code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(ts(r.submitted_at))
        .bind(day(r.state_since))
        .bind(r.due_date.map(day))
        .bind(r.publicity_start.map(day))
        .bind(r.publicity_end.map(day))
        .bind(ts(r.updated_at))
        .bind(r.id.clone())
        .bind(r.row_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.registration(&r.id).await?;
            return Err(StoreError::Stale { entity: "registration", id: r.id.clone() });
        }
        Ok(Registration { row_version: r.row_version + 1, ..r.clone() })
    }

    async fn registrations(&mut self, filter: &RegistrationFilter) -> StoreResult<Page<Registration>> {
        let mut conditions = DynSql::default();
        conditions.push(" WHERE 1 = 1");
        if !filter.states.is_empty() {
            conditions.push(" AND state IN ").bind_list(filter.states.iter().map(|s| s.code().to_owned()));
        }
        if !filter.applications.is_empty() {
            conditions.push(" AND application IN ").bind_list(filter.applications.iter().map(|a| a.code().to_owned()));
        }
        if let Some(resource_id) = &filter.resource_id {
            conditions.push(" AND resource_id = ").bind(Bind::Text(resource_id.clone()));
        }
        if let Some(orgs) = &filter.registrant_org_ids {
            if orgs.is_empty() {
                conditions.push(" AND 1 = 0");
            } else {
                conditions.push(" AND registrant_org_id IN ").bind_list(orgs.iter().cloned());
            }
        }
        let mut count = DynSql { text: format!("SELECT COUNT(*) FROM registration{}", conditions.text), binds: vec![] };
        count.binds = conditions.binds.clone();
        let mut select = DynSql {
            text: format!("SELECT {REGISTRATION_COLUMNS} FROM registration{}", conditions.text),
            binds: conditions.binds.clone(),
        };
        select.push(" ORDER BY submitted_at DESC, id LIMIT ").bind(Bind::Int(filter.limit));
        select.push(" OFFSET ").bind(Bind::Int(filter.offset));
        let total = self.count(&count).await?;
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        let items = rows.iter().map(registration_from_row).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn insert_objection(&mut self, o: &Objection) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO objection (id, registration_id, objector_user_id, claim, state, opinion, created_at, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(o.id.clone())
        .bind(o.registration_id.clone())
        .bind(o.objector_user_id.clone())
        .bind(o.claim.clone())
        .bind(o.state.code())
        .bind(o.opinion.clone())
        .bind(ts(o.created_at))
        .bind(opt_ts(o.resolved_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn objection(&mut self, id: &str) -> StoreResult<Objection> {
        let row = sqlx::query("SELECT * FROM objection WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("objection", id))?;
        objection_from_row(&row)
    }

    async fn decide_objection(&mut self, o: &Objection) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE objection SET state = $1, opinion = $2, resolved_at = $3 WHERE id = $4 AND state = 'open'",
        )
        .bind(o.state.code())
        .bind(o.opinion.clone())
        .bind(opt_ts(o.resolved_at))
        .bind(o.id.clone())
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "objection", id: o.id.clone() });
        }
        Ok(())
    }

    async fn objections_of(&mut self, registration_id: &str) -> StoreResult<Vec<Objection>> {
        let rows = sqlx::query("SELECT * FROM objection WHERE registration_id = $1 ORDER BY created_at, id")
            .bind(registration_id.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(objection_from_row).collect()
    }

    async fn raise_duplicate_flag(&mut self, f: &DuplicateFlag) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "INSERT INTO duplicate_flag (id, identity_key, item_title, resource_id, existing_resource_id, state, \
             lead_org_id, opinion, created_at, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (identity_key, resource_id, existing_resource_id) DO UPDATE SET state = 'open', \
             lead_org_id = NULL, opinion = NULL, created_at = excluded.created_at, resolved_at = NULL \
             WHERE duplicate_flag.state = 'withdrawn' RETURNING id",
        )
        .bind(f.id.clone())
        .bind(f.identity_key.clone())
        .bind(f.item_title.clone())
        .bind(f.resource_id.clone())
        .bind(f.existing_resource_id.clone())
        .bind(f.state.code())
        .bind(f.lead_org_id.clone())
        .bind(f.opinion.clone())
        .bind(ts(f.created_at))
        .bind(opt_ts(f.resolved_at))
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(|row| row.try_get::<String, _>(0)).transpose()?)
    }

    async fn duplicate_flag(&mut self, id: &str) -> StoreResult<DuplicateFlag> {
        let row = sqlx::query("SELECT * FROM duplicate_flag WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("duplicate flag", id))?;
        flag_from_row(&row)
    }

    async fn decide_duplicate_flag(&mut self, f: &DuplicateFlag) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE duplicate_flag SET state = $1, lead_org_id = $2, opinion = $3, resolved_at = $4 \
             WHERE id = $5 AND state = 'open'",
        )
        .bind(f.state.code())
        .bind(f.lead_org_id.clone())
        .bind(f.opinion.clone())
        .bind(opt_ts(f.resolved_at))
        .bind(f.id.clone())
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "duplicate flag", id: f.id.clone() });
        }
        Ok(())
    }

    async fn duplicate_flags(
        &mut self,
        state: Option<DuplicateFlagState>,
        resource_id: Option<&str>,
    ) -> StoreResult<Vec<DuplicateFlag>> {
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM duplicate_flag WHERE 1 = 1");
        if let Some(state) = state {
            sql.push(" AND state = ").bind(Bind::Text(state.code().to_owned()));
        }
        if let Some(resource_id) = resource_id {
            sql.push(" AND (resource_id = ").bind(Bind::Text(resource_id.to_owned()));
            sql.push(" OR existing_resource_id = ").bind(Bind::Text(resource_id.to_owned())).push(")");
        }
        sql.push(" ORDER BY created_at, id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(flag_from_row).collect()
    }

    async fn insert_version(&mut self, v: &DatasetVersion) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_version WHERE resource_id = $1")
            .bind(v.resource_id.clone())
            .fetch_one(&mut *self.tx)
            .await?;
        let number: i64 = row.try_get(0)?;
        sqlx::query(
            "INSERT INTO dataset_version (id, resource_id, version, location, row_count, parquet_bytes, source_bytes, \
             content_hash, source_name, schema_json, load_json, profile_json, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(v.id.clone())
        .bind(v.resource_id.clone())
        .bind(number)
        .bind(v.location.clone())
        .bind(v.row_count)
        .bind(v.parquet_bytes)
        .bind(v.source_bytes)
        .bind(v.content_hash.clone())
        .bind(v.source_name.clone())
        .bind(v.schema_json.clone())
        .bind(v.load_json.clone())
        .bind(v.profile_json.clone())
        .bind(v.created_by.clone())
        .bind(ts(v.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(number)
    }

    async fn versions(&mut self, resource_id: &str) -> StoreResult<Vec<DatasetVersion>> {
        let rows = sqlx::query("SELECT * FROM dataset_version WHERE resource_id = $1 ORDER BY version DESC")
            .bind(resource_id.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn version(&mut self, resource_id: &str, version: i64) -> StoreResult<DatasetVersion> {
        let row = sqlx::query("SELECT * FROM dataset_version WHERE resource_id = $1 AND version = $2")
            .bind(resource_id.to_owned())
            .bind(version)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("version", &format!("{resource_id} v{version}")))?;
        version_from_row(&row)
    }

    async fn next_code_sequence(&mut self, prefix: &str) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO code_counter (prefix, last_sequence) VALUES ($1, 1) \
             ON CONFLICT (prefix) DO UPDATE SET last_sequence = code_counter.last_sequence + 1 \
             RETURNING last_sequence",
        )
        .bind(prefix.to_owned())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get(0)?)
    }

    async fn append_history(&mut self, e: &HistoryEntry) -> StoreResult<()> {
        let row = sqlx::query(
            "INSERT INTO history (entity_kind, entity_id, actor_user_id, action, from_state, to_state, opinion, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        )
        .bind(e.entity_kind)
        .bind(e.entity_id.clone())
        .bind(e.actor_user_id.clone())
        .bind(e.action.clone())
        .bind(e.from_state.clone())
        .bind(e.to_state.clone())
        .bind(e.opinion.clone())
        .bind(ts(e.at))
        .fetch_one(&mut *self.tx)
        .await?;
        let seq: i64 = row.try_get(0)?;
        let entry = state_entry(e, seq, &self.pseudonymizer().await?);
        self.queue_ledger(&[(entry, seq)], e.at).await
    }

    async fn history_of_kind(&mut self, entity_kind: &str) -> StoreResult<Vec<HistoryEntry>> {
        let rows = sqlx::query("SELECT * FROM history WHERE entity_kind = $1 ORDER BY seq")
            .bind(entity_kind.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(history_from_row).collect()
    }

    async fn history(&mut self, entity_kind: &str, entity_id: &str) -> StoreResult<Vec<HistoryEntry>> {
        let rows = sqlx::query("SELECT * FROM history WHERE entity_kind = $1 AND entity_id = $2 ORDER BY seq")
            .bind(entity_kind.to_owned())
            .bind(entity_id.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(history_from_row).collect()
    }

    async fn insert_sharing_request(&mut self, r: &SharingRequest) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sharing_request (id, requester_org_id, provider_org_id, resource_id, columns, modes, purpose, \
             legal_basis, scenario, needed_until, state, due_date, opinion, grant_id, submitted_by, created_at, \
             updated_at, row_version, bundle_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(r.id.clone())
        .bind(r.requester_org_id.clone())
        .bind(r.provider_org_id.clone())
        .bind(r.resource_id.clone())
        .bind(json!(r.columns).to_string())
        .bind(encode_modes(&r.modes))
        .bind(r.purpose.clone())
        .bind(r.legal_basis.clone())
        .bind(r.scenario.clone())
        .bind(day(r.needed_until))
        .bind(r.state.code())
        .bind(r.due_date.map(day))
        .bind(r.opinion.clone())
        .bind(r.grant_id.clone())
        .bind(r.submitted_by.clone())
        .bind(ts(r.created_at))
        .bind(ts(r.updated_at))
        .bind(r.row_version)
        .bind(r.bundle_id.clone())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_bundle(&mut self, b: &SharingBundle) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sharing_bundle (id, requester_org_id, title, service, state, submitted_by, created_at, \
             updated_at, row_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(b.id.clone())
        .bind(b.requester_org_id.clone())
        .bind(b.title.clone())
        .bind(b.service.clone())
        .bind(b.state.code())
        .bind(b.submitted_by.clone())
        .bind(ts(b.created_at))
        .bind(ts(b.updated_at))
        .bind(b.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn bundle(&mut self, id: &str) -> StoreResult<SharingBundle> {
        let row = sqlx::query("SELECT * FROM sharing_bundle WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("sharing_bundle", id))?;
        bundle_from_row(&row)
    }

    async fn update_bundle(&mut self, b: &SharingBundle) -> StoreResult<SharingBundle> {
        let result = sqlx::query(
            "UPDATE sharing_bundle SET state = $1, updated_at = $2, row_version = row_version + 1 \
             WHERE id = $3 AND row_version = $4",
        )
        .bind(b.state.code())
        .bind(ts(b.updated_at))
        .bind(b.id.clone())
        .bind(b.row_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.bundle(&b.id).await?;
            return Err(StoreError::Stale { entity: "sharing_bundle", id: b.id.clone() });
        }
        Ok(SharingBundle { row_version: b.row_version + 1, ..b.clone() })
    }

    async fn bundles(&mut self, involving_org_ids: Option<&[String]>) -> StoreResult<Vec<SharingBundle>> {
        let mut select = DynSql::default();
        select.push("SELECT * FROM sharing_bundle WHERE 1 = 1");
        match involving_org_ids {
            Some([]) => {
                select.push(" AND 1 = 0");
            }
            Some(orgs) => {
                select.push(" AND (requester_org_id IN ").bind_list(orgs.iter().cloned());
                select
                    .push(" OR id IN (SELECT bundle_id FROM sharing_request WHERE provider_org_id IN ")
                    .bind_list(orgs.iter().cloned())
                    .push("))");
            }
            None => {}
        }
        select.push(" ORDER BY created_at DESC, id");
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(bundle_from_row).collect()
    }

    async fn sharing_request(&mut self, id: &str) -> StoreResult<SharingRequest> {
        let row = sqlx::query("SELECT * FROM sharing_request WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("sharing_request", id))?;
        sharing_request_from_row(&row)
    }

    async fn update_sharing_request(&mut self, r: &SharingRequest) -> StoreResult<SharingRequest> {
        let result = sqlx::query(
            "UPDATE sharing_request SET state = $1, due_date = $2, opinion = $3, grant_id = $4, updated_at = $5, \
             row_version = row_version + 1 WHERE id = $6 AND row_version = $7",
        )
        .bind(r.state.code())
        .bind(r.due_date.map(day))
        .bind(r.opinion.clone())
        .bind(r.grant_id.clone())
        .bind(ts(r.updated_at))
        .bind(r.id.clone())
        .bind(r.row_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.sharing_request(&r.id).await?;
            return Err(StoreError::Stale { entity: "sharing_request", id: r.id.clone() });
        }
        Ok(SharingRequest { row_version: r.row_version + 1, ..r.clone() })
    }

    async fn sharing_requests(&mut self, filter: &SharingFilter) -> StoreResult<Page<SharingRequest>> {
        let mut conditions = DynSql::default();
        conditions.push(" WHERE 1 = 1");
        if !filter.states.is_empty() {
            conditions.push(" AND state IN ").bind_list(filter.states.iter().map(|s| s.code().to_owned()));
        }
        match &filter.requester_org_ids {
            Some(orgs) if orgs.is_empty() => {
                conditions.push(" AND 1 = 0");
            }
            Some(orgs) => {
                conditions.push(" AND requester_org_id IN ").bind_list(orgs.iter().cloned());
            }
            None => {}
        }
        match &filter.provider_org_ids {
            Some(orgs) if orgs.is_empty() => {
                conditions.push(" AND 1 = 0");
            }
            Some(orgs) => {
                conditions.push(" AND provider_org_id IN ").bind_list(orgs.iter().cloned());
            }
            None => {}
        }
        if let Some(orgs) = &filter.involving_org_ids {
            if orgs.is_empty() {
                conditions.push(" AND 1 = 0");
            } else {
                conditions.push(" AND (requester_org_id IN ").bind_list(orgs.iter().cloned());
                conditions.push(" OR provider_org_id IN ").bind_list(orgs.iter().cloned()).push(")");
            }
        }
        if let Some(bundle_id) = &filter.bundle_id {
            conditions.push(" AND bundle_id = ").bind(Bind::Text(bundle_id.clone()));
        }
        let count = DynSql {
            text: format!("SELECT COUNT(*) FROM sharing_request{}", conditions.text),
            binds: conditions.binds.clone(),
        };
        let mut select = DynSql {
            text: format!("SELECT * FROM sharing_request{}", conditions.text),
            binds: conditions.binds.clone(),
        };
        select.push(" ORDER BY created_at DESC, id LIMIT ").bind(Bind::Int(filter.limit));
        select.push(" OFFSET ").bind(Bind::Int(filter.offset));
        let total = self.count(&count).await?;
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        let items = rows.iter().map(sharing_request_from_row).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn insert_grant(&mut self, g: &Grant) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_grant (id, basis, source_id, grantee_org_id, grantor_org_id, resources, modes, purpose, \
             scenario, valid_from, valid_until, min_group_size, epsilon_budget_micros, epsilon_spent_micros, \
             allow_joins, state, state_reason, hash_key, created_at, updated_at, row_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(g.id.clone())
        .bind(g.basis.code())
        .bind(g.source_id.clone())
        .bind(g.grantee_org_id.clone())
        .bind(g.grantor_org_id.clone())
        .bind(encode_granted(&g.resources))
        .bind(encode_modes(&g.modes))
        .bind(g.purpose.clone())
        .bind(g.scenario.clone())
        .bind(ts(g.valid_from))
        .bind(ts(g.valid_until))
        .bind(i64::from(g.min_group_size))
        .bind(g.epsilon_budget_micros)
        .bind(g.epsilon_spent_micros)
        .bind(i64::from(g.allow_joins))
        .bind(g.state.code())
        .bind(g.state_reason.clone())
        .bind(g.hash_key.clone())
        .bind(ts(g.created_at))
        .bind(ts(g.updated_at))
        .bind(g.row_version)
        .execute(&mut *self.tx)
        .await?;
        for granted in &g.resources {
            sqlx::query("INSERT INTO access_grant_resource (grant_id, resource_id) VALUES ($1, $2)")
                .bind(g.id.clone())
                .bind(granted.resource_id.clone())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn grant(&mut self, id: &str) -> StoreResult<Grant> {
        let row = sqlx::query("SELECT * FROM access_grant WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("grant", id))?;
        grant_from_row(&row)
    }

    async fn update_grant(&mut self, g: &Grant) -> StoreResult<Grant> {
        let result = sqlx::query(
            // The spent budget is left alone: only charges and refunds change it, in one statement each.
            "UPDATE access_grant SET state = $1, state_reason = $2, valid_until = $3, \
             updated_at = $4, row_version = row_version + 1 WHERE id = $5 AND row_version = $6",
        )
        .bind(g.state.code())
        .bind(g.state_reason.clone())
        .bind(ts(g.valid_until))
        .bind(ts(g.updated_at))
        .bind(g.id.clone())
        .bind(g.row_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.grant(&g.id).await?;
            return Err(StoreError::Stale { entity: "grant", id: g.id.clone() });
        }
        Ok(Grant { row_version: g.row_version + 1, ..g.clone() })
    }

    async fn grants(&mut self, filter: &GrantFilter) -> StoreResult<Vec<Grant>> {
        let mut select = DynSql::default();
        select.push("SELECT * FROM access_grant WHERE 1 = 1");
        if let Some(orgs) = &filter.grantee_org_ids {
            if orgs.is_empty() {
                select.push(" AND 1 = 0");
            } else {
                select.push(" AND grantee_org_id IN ").bind_list(orgs.iter().cloned());
            }
        }
        if let Some(orgs) = &filter.involving_org_ids {
            if orgs.is_empty() {
                select.push(" AND 1 = 0");
            } else {
                select.push(" AND (grantee_org_id IN ").bind_list(orgs.iter().cloned());
                select.push(" OR grantor_org_id IN ").bind_list(orgs.iter().cloned()).push(")");
            }
        }
        if let Some(resource_id) = &filter.resource_id {
            select
                .push(" AND id IN (SELECT grant_id FROM access_grant_resource WHERE resource_id = ")
                .bind(Bind::Text(resource_id.clone()))
                .push(")");
        }
        select.push(" ORDER BY created_at, id");
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(grant_from_row).collect()
    }

    async fn charge_privacy_budget(&mut self, grant_id: &str, micros: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE access_grant SET epsilon_spent_micros = epsilon_spent_micros + $1 \
             WHERE id = $2 AND epsilon_budget_micros IS NOT NULL AND epsilon_spent_micros + $1 <= epsilon_budget_micros",
        )
        .bind(micros)
        .bind(grant_id.to_owned())
        .execute(&mut *self.tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn refund_privacy_budget(&mut self, grant_id: &str, micros: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE access_grant SET epsilon_spent_micros = epsilon_spent_micros - $1 \
             WHERE id = $2 AND epsilon_spent_micros >= $1",
        )
        .bind(micros)
        .bind(grant_id.to_owned())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_agreement(&mut self, a: &Agreement) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agreement (id, kind, grantor_org_id, holder_org_id, resource_id, terms, record, state, \
             due_date, opinion, grant_id, submitted_by, created_at, updated_at, row_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(a.id.clone())
        .bind(a.kind.code())
        .bind(a.grantor_org_id.clone())
        .bind(a.holder_org_id.clone())
        .bind(a.resource_id.clone())
        .bind(encode_versioned("terms", &a.terms))
        .bind(encode_versioned("record", &a.record))
        .bind(a.state.code())
        .bind(a.due_date.map(day))
        .bind(a.opinion.clone())
        .bind(a.grant_id.clone())
        .bind(a.submitted_by.clone())
        .bind(ts(a.created_at))
        .bind(ts(a.updated_at))
        .bind(a.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn agreement(&mut self, id: &str) -> StoreResult<Agreement> {
        let row = sqlx::query("SELECT * FROM agreement WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("agreement", id))?;
        agreement_from_row(&row)
    }

    async fn update_agreement(&mut self, a: &Agreement) -> StoreResult<Agreement> {
        let result = sqlx::query(
            "UPDATE agreement SET holder_org_id = $1, terms = $2, record = $3, state = $4, due_date = $5, \
             opinion = $6, grant_id = $7, updated_at = $8, row_version = row_version + 1 \
             WHERE id = $9 AND row_version = $10",
        )
        .bind(a.holder_org_id.clone())
        .bind(encode_versioned("terms", &a.terms))
        .bind(encode_versioned("record", &a.record))
        .bind(a.state.code())
        .bind(a.due_date.map(day))
        .bind(a.opinion.clone())
        .bind(a.grant_id.clone())
        .bind(ts(a.updated_at))
        .bind(a.id.clone())
        .bind(a.row_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.agreement(&a.id).await?;
            return Err(StoreError::Stale { entity: "agreement", id: a.id.clone() });
        }
        Ok(Agreement { row_version: a.row_version + 1, ..a.clone() })
    }

    async fn agreements(&mut self, filter: &AgreementFilter) -> StoreResult<Page<Agreement>> {
        let mut conditions = DynSql::default();
        conditions.push(" WHERE 1 = 1");
        if let Some(kind) = filter.kind {
            conditions.push(" AND kind = ").bind(Bind::Text(kind.code().to_owned()));
        }
        if !filter.states.is_empty() {
            conditions.push(" AND state IN ").bind_list(filter.states.iter().map(|s| s.code().to_owned()));
        }
        if let Some(orgs) = &filter.involving_org_ids {
            if orgs.is_empty() {
                conditions.push(" AND 1 = 0");
            } else {
                conditions.push(" AND (grantor_org_id IN ").bind_list(orgs.iter().cloned());
                conditions.push(" OR holder_org_id IN ").bind_list(orgs.iter().cloned()).push(")");
            }
        }
        let count = DynSql {
            text: format!("SELECT COUNT(*) FROM agreement{}", conditions.text),
            binds: conditions.binds.clone(),
        };
        let mut select =
            DynSql { text: format!("SELECT * FROM agreement{}", conditions.text), binds: conditions.binds.clone() };
        select.push(" ORDER BY created_at DESC, id LIMIT ").bind(Bind::Int(filter.limit));
        select.push(" OFFSET ").bind(Bind::Int(filter.offset));
        let total = self.count(&count).await?;
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        let items = rows.iter().map(agreement_from_row).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn insert_usage_report(&mut self, r: &UsageReport) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO usage_report (agreement_id, period_start, period_end, summary, outputs, incidents, \
             submitted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        )
        .bind(r.agreement_id.clone())
        .bind(day(r.period_start))
        .bind(day(r.period_end))
        .bind(r.summary.clone())
        .bind(r.outputs.clone())
        .bind(r.incidents.clone())
        .bind(r.submitted_by.clone())
        .bind(ts(r.created_at))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    async fn usage_reports(&mut self, agreement_id: &str) -> StoreResult<Vec<UsageReport>> {
        let rows = sqlx::query("SELECT * FROM usage_report WHERE agreement_id = $1 ORDER BY seq")
            .bind(agreement_id.to_owned())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(usage_report_from_row).collect()
    }

    async fn insert_duty(&mut self, d: &SharingDuty) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sharing_duty (id, org_id, title, description, basis, update_cycle, first_due, resource_id, \
             created_by, created_at, updated_at, row_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(d.id.clone())
        .bind(d.org_id.clone())
        .bind(d.title.clone())
        .bind(d.description.clone())
        .bind(d.basis.clone())
        .bind(d.update_cycle.code())
        .bind(day(d.first_due))
        .bind(d.resource_id.clone())
        .bind(d.created_by.clone())
        .bind(ts(d.created_at))
        .bind(ts(d.updated_at))
        .bind(d.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn duty(&mut self, id: &str) -> StoreResult<SharingDuty> {
        let row = sqlx::query("SELECT * FROM sharing_duty WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| not_found("sharing_duty", id))?;
        duty_from_row(&row)
    }

    async fn update_duty(&mut self, d: &SharingDuty) -> StoreResult<SharingDuty> {
        let result = sqlx::query(
            "UPDATE sharing_duty SET title = $1, description = $2, basis = $3, update_cycle = $4, first_due = $5, \
             resource_id = $6, updated_at = $7, row_version = row_version + 1 WHERE id = $8 AND row_version = $9",
        )
        .bind(d.title.clone())
        .bind(d.description.clone())
        .bind(d.basis.clone())
        .bind(d.update_cycle.code())
        .bind(day(d.first_due))
        .bind(d.resource_id.clone())
        .bind(ts(d.updated_at))
        .bind(d.id.clone())
        .bind(d.row_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            self.duty(&d.id).await?;
            return Err(StoreError::Stale { entity: "sharing_duty", id: d.id.clone() });
        }
        Ok(SharingDuty { row_version: d.row_version + 1, ..d.clone() })
    }

    async fn duties(&mut self, org_ids: Option<&[String]>) -> StoreResult<Vec<SharingDuty>> {
        let mut select = DynSql::default();
        select.push("SELECT * FROM sharing_duty WHERE 1 = 1");
        match org_ids {
            Some([]) => {
                select.push(" AND 1 = 0");
            }
            Some(orgs) => {
                select.push(" AND org_id IN ").bind_list(orgs.iter().cloned());
            }
            None => {}
        }
        select.push(" ORDER BY first_due, id");
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        rows.iter().map(duty_from_row).collect()
    }

    async fn insert_usage_event(&mut self, e: &UsageEvent) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO usage_event (at, user_id, org_id, grant_id, resource_id, version, mode, channel, purpose, \
             allowed, reason, query_fingerprint, rows_out, bytes_out, privacy_cost_micros, result_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING seq",
        )
        .bind(ts(e.at))
        .bind(e.user_id.clone())
        .bind(e.org_id.clone())
        .bind(e.grant_id.clone())
        .bind(e.resource_id.clone())
        .bind(e.version)
        .bind(e.mode.code())
        .bind(e.channel.clone())
        .bind(e.purpose.clone())
        .bind(i64::from(e.allowed))
        .bind(e.reason.clone())
        .bind(e.query_fingerprint.clone())
        .bind(e.rows_out)
        .bind(e.bytes_out)
        .bind(e.privacy_cost_micros)
        .bind(e.result_hash.clone())
        .fetch_one(&mut *self.tx)
        .await?;
        let seq = row.try_get::<i64, _>(0)?;
        let entry = usage_entry(e, seq, &self.pseudonymizer().await?);
        self.queue_ledger(&[(entry, seq)], e.at).await?;
        Ok(seq)
    }

    async fn complete_usage_event(&mut self, seq: i64, rows_out: Option<i64>, bytes_out: i64) -> StoreResult<()> {
        let row = sqlx::query(
            "UPDATE usage_event SET rows_out = COALESCE($1, rows_out), bytes_out = $2 WHERE seq = $3 RETURNING at",
        )
        .bind(rows_out)
        .bind(bytes_out)
        .bind(seq)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { entity: "usage event", id: seq.to_string() })?;
        let at = parse_ts(&row.try_get::<String, _>(0)?)?;
        let entry =
            Entry::UsageOutcome(UsageOutcome { v: gongshu_ledger::entry::FORMAT_VERSION, seq, rows_out, bytes_out });
        self.queue_ledger(&[(entry, seq)], at).await
    }

    async fn queue_ledger_entries(&mut self, entries: &[(Entry, i64)], at: DateTime<Utc>) -> StoreResult<()> {
        self.queue_ledger(entries, at).await
    }

    async fn ledger_head(&mut self) -> StoreResult<LedgerHead> {
        self.ledger_head_row().await
    }

    async fn integrate_ledger(&mut self, max_entries: usize, now: DateTime<Utc>) -> StoreResult<LedgerHead> {
        self.integrate(max_entries, now).await
    }

    async fn ledger_pending(&mut self) -> StoreResult<u64> {
        self.ledger_pending_count().await
    }

    async fn ledger_nodes(&mut self, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>> {
        SqlTransaction::ledger_nodes(self, ids).await
    }

    async fn ledger_entries(&mut self, from: u64, limit: u64) -> StoreResult<Vec<LedgerRecord>> {
        self.ledger_records(from, limit).await
    }

    async fn ledger_entry_of(&mut self, kind: &str, ref_seq: i64) -> StoreResult<Option<LedgerRecord>> {
        self.ledger_record_of(kind, ref_seq).await
    }

    async fn insert_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> StoreResult<()> {
        self.put_checkpoint(checkpoint).await
    }

    async fn checkpoints(&mut self) -> StoreResult<Vec<StoredCheckpoint>> {
        self.stored_checkpoints(false).await
    }

    async fn latest_checkpoint(&mut self) -> StoreResult<Option<StoredCheckpoint>> {
        Ok(self.stored_checkpoints(true).await?.pop())
    }

    async fn pseudonym(&mut self, account_id: &str) -> StoreResult<String> {
        Ok(self.pseudonymizer().await?.pseudonym(account_id))
    }

    async fn insert_freeze(&mut self, freeze: &Freeze) -> StoreResult<()> {
        self.put_freeze(freeze).await
    }

    async fn freeze(&mut self, id: &str) -> StoreResult<Freeze> {
        self.get_freeze(id).await
    }

    async fn release_freeze(&mut self, freeze: &Freeze) -> StoreResult<Freeze> {
        self.release(freeze).await
    }

    async fn freezes(&mut self) -> StoreResult<Vec<Freeze>> {
        self.list_freezes(None).await
    }

    async fn active_freezes(&mut self, targets: &[(FreezeTarget, String)]) -> StoreResult<Vec<Freeze>> {
        self.list_freezes(Some(targets)).await
    }

    async fn insert_alert(&mut self, alert: &Alert) -> StoreResult<()> {
        self.put_alert(alert).await
    }

    async fn alert_raised(&mut self, dedup_key: &str) -> StoreResult<bool> {
        self.alert_exists(dedup_key).await
    }

    async fn alert(&mut self, id: &str) -> StoreResult<Alert> {
        self.get_alert(id).await
    }

    async fn update_alert(&mut self, alert: &Alert) -> StoreResult<Alert> {
        self.handle(alert).await
    }

    async fn alerts(&mut self, open_only: bool, limit: i64) -> StoreResult<Vec<Alert>> {
        self.list_alerts(open_only, limit).await
    }

    async fn insert_exemption(&mut self, exemption: &TrackerExemption) -> StoreResult<()> {
        self.put_exemption(exemption).await
    }

    async fn exemptions(&mut self) -> StoreResult<Vec<TrackerExemption>> {
        self.list_exemptions().await
    }

    async fn monitor_cursor(&mut self) -> StoreResult<i64> {
        SqlTransaction::monitor_cursor(self).await
    }

    async fn advance_monitor(&mut self, from: i64, to: i64) -> StoreResult<()> {
        SqlTransaction::advance_monitor(self, from, to).await
    }

    async fn usage_in_ledger_after(&mut self, index: i64, limit: i64) -> StoreResult<Vec<LedgeredUsage>> {
        self.events_in_ledger_after(index, limit).await
    }

    async fn add_daily_usage(&mut self, rows: &[DailyUsage]) -> StoreResult<()> {
        self.add_daily(rows).await
    }

    async fn daily_usage(
        &mut self,
        since: NaiveDate,
        until: NaiveDate,
        dimension: &UsageDimension,
    ) -> StoreResult<Vec<DailyUsage>> {
        self.daily(since, until, dimension).await
    }

    async fn usage_events(&mut self, filter: &UsageFilter) -> StoreResult<Page<UsageEvent>> {
        let mut conditions = DynSql::default();
        conditions.push(" WHERE 1 = 1");
        if let Some(grant_id) = &filter.grant_id {
            conditions.push(" AND grant_id = ").bind(Bind::Text(grant_id.clone()));
        }
        if let Some(resource_id) = &filter.resource_id {
            conditions.push(" AND resource_id = ").bind(Bind::Text(resource_id.clone()));
        }
        if let Some(orgs) = &filter.visible_to_orgs {
            if orgs.is_empty() {
                conditions.push(" AND 1 = 0");
            } else {
                conditions.push(" AND (org_id IN ").bind_list(orgs.iter().cloned());
                conditions.push(" OR resource_id IN (SELECT id FROM resource WHERE provider_org_id IN ");
                conditions.bind_list(orgs.iter().cloned()).push("))");
            }
        }
        if let Some(allowed) = filter.allowed {
            conditions.push(" AND allowed = ").bind(Bind::Int(i64::from(allowed)));
        }
        let count = DynSql {
            text: format!("SELECT COUNT(*) FROM usage_event{}", conditions.text),
            binds: conditions.binds.clone(),
        };
        let mut select =
            DynSql { text: format!("SELECT * FROM usage_event{}", conditions.text), binds: conditions.binds.clone() };
        select.push(" ORDER BY seq DESC LIMIT ").bind(Bind::Int(filter.limit));
        select.push(" OFFSET ").bind(Bind::Int(filter.offset));
        let total = self.count(&count).await?;
        let rows = select.query().fetch_all(&mut *self.tx).await?;
        let items = rows.iter().map(usage_event_from_row).collect::<StoreResult<_>>()?;
        Ok(Page { items, total })
    }

    async fn insert_product(&mut self, product: &Product) -> StoreResult<()> {
        self.put_product(product).await
    }

    async fn update_product(&mut self, product: &Product) -> StoreResult<Product> {
        self.write_product(product).await
    }

    async fn product(&mut self, id: &str) -> StoreResult<Product> {
        self.get_product(id).await
    }

    async fn products(&mut self, filter: &ProductFilter) -> StoreResult<Vec<Product>> {
        self.list_products(filter).await
    }

    async fn insert_price(&mut self, price: &PriceRecord) -> StoreResult<i64> {
        self.put_price(price).await
    }

    async fn prices(&mut self, product_ids: &[String]) -> StoreResult<Vec<PriceRecord>> {
        self.list_prices(product_ids).await
    }

    async fn put_ceiling(&mut self, ceiling: &RevenueCeiling) -> StoreResult<()> {
        self.upsert_ceiling(ceiling).await
    }

    async fn ceiling(&mut self, operator_org_id: &str, year: i32) -> StoreResult<Option<RevenueCeiling>> {
        Ok(self.list_ceilings(Some(operator_org_id), Some(year)).await?.pop())
    }

    async fn ceilings(&mut self, operator_org_id: Option<&str>) -> StoreResult<Vec<RevenueCeiling>> {
        self.list_ceilings(operator_org_id, None).await
    }

    async fn insert_subscription(&mut self, subscription: &Subscription) -> StoreResult<()> {
        self.put_subscription(subscription).await
    }

    async fn update_subscription(&mut self, subscription: &Subscription) -> StoreResult<Subscription> {
        self.write_subscription(subscription).await
    }

    async fn subscription(&mut self, id: &str) -> StoreResult<Subscription> {
        self.get_subscription(id).await
    }

    async fn subscriptions(&mut self, filter: &SubscriptionFilter) -> StoreResult<Vec<Subscription>> {
        self.list_subscriptions(filter).await
    }

    async fn insert_delivery(&mut self, delivery: &Delivery) -> StoreResult<i64> {
        self.put_delivery(delivery).await
    }

    async fn delivered_before(
        &mut self,
        subscription_id: &str,
        version: Option<i64>,
        day: NaiveDate,
    ) -> StoreResult<(bool, bool)> {
        self.delivered(subscription_id, version, day).await
    }

    async fn deliveries(&mut self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        self.list_deliveries(filter).await
    }

    async fn delivery_totals(&mut self, filter: &DeliveryFilter) -> StoreResult<(i64, i64, i64)> {
        self.sum_deliveries(filter).await
    }

    async fn insert_disclosure(&mut self, disclosure: &Disclosure) -> StoreResult<()> {
        self.put_disclosure(disclosure).await
    }

    async fn disclosure(&mut self, id: &str) -> StoreResult<Disclosure> {
        self.get_disclosure(id).await
    }

    async fn disclosures(&mut self, year: Option<i32>, org_id: Option<&str>) -> StoreResult<Vec<Disclosure>> {
        self.list_disclosures(year, org_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_database_urls() {
        assert_eq!(redact("postgres://app:secret@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redact("sqlite://./data/gongshu.db"), "sqlite://./data/gongshu.db");
    }
}
