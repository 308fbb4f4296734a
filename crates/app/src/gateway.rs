//! The access gateway: the one path by which data is read. It decides
//! (deny by default), picks the version, and hands the query engine only the
//! tables the caller may read.
//!
//! In this release it serves a resource's data when the resource is
//! published with an unconditional open attribute, and to the providing
//! organization (whose data it is). Conditional and not-open data is refused
//! here until grants (sharing, conditional opening, authorized operation)
//! extend this same decision.
//!
//! **Architecture Invariant:** no other code path reads data files for a
//! caller. `versions` writes them; everything that reads goes through here.

use gongshu_domain::{DatasetVersion, OpenAttribute, Resource, ResourceState, ValidationError};
use gongshu_policy::Subject;
use gongshu_query::{DownloadFormat, QueryError, QueryPage, SqlResult, Table, TableQuery};

use crate::catalog::visible_orgs;
use crate::{App, AppError, AppResult};

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

/// Whether `subject` may read the data of `resource`, and if not, why.
pub(crate) fn data_decision(subject: &Subject, resource: &Resource) -> Result<(), AppError> {
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
            en: "the data of an unpublished resource is not served",
            zh: "未发布的数据资源不提供数据",
        });
    }
    match &resource.draft.open {
        OpenAttribute::Unconditional => Ok(()),
        OpenAttribute::Conditional { .. } => Err(AppError::Forbidden {
            en: "this data is open only under conditions (有条件开放); it is served under a grant after an approved application",
            zh: "该数据为有条件开放，须经申请批准并取得授权后方可访问",
        }),
        OpenAttribute::NotOpen { .. } => {
            Err(AppError::Forbidden { en: "this data is not open (不予开放)", zh: "该数据不予开放" })
        }
    }
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
    /// Decides, then picks the version to read (the newest by default).
    async fn readable(
        &self,
        subject: &Subject,
        resource_id: &str,
        version: Option<i64>,
    ) -> AppResult<(Resource, DatasetVersion)> {
        let mut tx = self.store.read().await?;
        let resource = self.visible_resource(&mut tx, subject, resource_id).await?;
        data_decision(subject, &resource)?;
        let version = match version {
            Some(number) => tx.version(resource_id, number).await?,
            None => tx.versions(resource_id).await?.into_iter().next().ok_or_else(|| AppError::NotFound {
                entity: "version",
                id: format!("{resource_id} (no data has been loaded)"),
            })?,
        };
        Ok((resource, version))
    }

    /// A page of a resource's data: filters, text search, sort, fields, group-by.
    pub async fn query_data(
        &self,
        subject: &Subject,
        resource_id: &str,
        params: &[(String, String)],
    ) -> AppResult<DataPage> {
        let query = TableQuery::from_params(params).map_err(query_error)?;
        let (_, version) = self.readable(subject, resource_id, query.version).await?;
        let table = Table { name: "data".into(), location: version.location.clone() };
        let page = self.query.table_query(&table, &query).await.map_err(query_error)?;
        Ok(DataPage { version: version.version, page, limit: query.limit, offset: query.offset })
    }

    /// Every row a data query matches, encoded in `format`, streamed.
    pub async fn download_data(
        &self,
        subject: &Subject,
        resource_id: &str,
        params: &[(String, String)],
        format: &str,
    ) -> AppResult<Download> {
        let query = TableQuery::from_params(params).map_err(query_error)?;
        let (resource, version) = self.readable(subject, resource_id, query.version).await?;
        let stem = file_stem(&resource, version.version);
        if format == "parquet" {
            if !(query.filters.is_empty()
                && query.text.is_empty()
                && query.aggregates.is_empty()
                && query.fields.is_empty()
                && query.sort.is_empty())
            {
                return Err(ValidationError::new(
                    "format",
                    "parquet downloads are whole versions; leave out filters, or pick csv, xlsx, json or ndjson",
                    "Parquet 仅支持下载整个版本；如需筛选请选择 csv、xlsx、json 或 ndjson",
                )
                .into());
            }
            let stream = self.data.stream(&version.location).await.map_err(|e| AppError::Internal(Box::new(e)))?;
            let body = futures::StreamExt::map(stream, |chunk| chunk.map_err(|e| AppError::Internal(Box::new(e))));
            return Ok(Download {
                filename: format!("{stem}.parquet"),
                content_type: "application/vnd.apache.parquet",
                body: Box::pin(body),
            });
        }
        let table = Table { name: "data".into(), location: version.location.clone() };
        if format == "xlsx" {
            let stream = self.query.table_stream(&table, &query).await.map_err(query_error)?;
            let body = gongshu_query::encode_xlsx(stream, &self.scratch, "数据").await.map_err(query_error)?;
            return Ok(Download {
                filename: format!("{stem}.xlsx"),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                body: Box::pin(futures::StreamExt::map(body, |chunk| chunk.map_err(query_error))),
            });
        }
        let format = DownloadFormat::parse(format).map_err(query_error)?;
        let stream = self.query.table_stream(&table, &query).await.map_err(query_error)?;
        let body =
            futures::StreamExt::map(gongshu_query::encode_stream(stream, format), |chunk| chunk.map_err(query_error));
        Ok(Download {
            filename: format!("{stem}.{}", format.extension()),
            content_type: format.content_type(),
            body: Box::pin(body),
        })
    }

    /// Read-only SQL over resources' newest versions. Tables are named by
    /// resource id, as CKAN's `datastore_search_sql` names them
    /// (`SELECT * FROM "<id>"`); each must be readable by the caller.
    pub async fn sql(&self, subject: &Subject, sql: &str) -> AppResult<SqlResult> {
        if sql.trim().is_empty() {
            return Err(ValidationError::required("sql").into());
        }
        let names = self.query.referenced_tables(sql).map_err(query_error)?;
        let mut tables = Vec::new();
        for name in names {
            let (_, version) = match self.readable(subject, &name, None).await {
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
            tables.push(Table { name, location: version.location });
        }
        self.query.sql(&tables, sql).await.map_err(query_error)
    }
}

/// A download's file name: the resource's registration code (or id) and version.
fn file_stem(resource: &Resource, version: i64) -> String {
    let code = resource.registration_code.as_ref().map_or(resource.id.as_str(), |c| c.as_str());
    format!("{code}-v{version}")
}
