//! Why a query did not run.

/// A query's failure, told so the person who wrote it can fix it.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request is wrong: a parameter, a column, a value.
    #[error("{param}: {en}")]
    Invalid {
        /// The parameter or part of the query at fault.
        param: String,
        /// What is wrong, in English.
        en: String,
        /// What is wrong, in Chinese.
        zh: String,
    },
    /// The query ran past its time limit.
    #[error("the query took longer than {seconds} s and was stopped")]
    Timeout {
        /// The limit.
        seconds: u64,
    },
    /// DataFusion refused or failed the query.
    #[error("{0}")]
    Engine(#[from] datafusion::error::DataFusionError),
}

impl QueryError {
    pub(crate) fn invalid(param: impl Into<String>, en: impl Into<String>, zh: impl Into<String>) -> Self {
        QueryError::Invalid { param: param.into(), en: en.into(), zh: zh.into() }
    }

    /// Whether the query (rather than this machine) is at fault: planning
    /// errors such as unknown columns or SQL syntax count as the query's.
    pub fn is_bad_query(&self) -> bool {
        use datafusion::error::DataFusionError as E;
        match self {
            QueryError::Invalid { .. } | QueryError::Timeout { .. } => true,
            QueryError::Engine(error) => matches!(
                error.find_root(),
                E::SQL(..) | E::Plan(_) | E::SchemaError(..) | E::NotImplemented(_) | E::ResourcesExhausted(_)
            ),
        }
    }

    /// The message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            QueryError::Invalid { param, zh, .. } => format!("{param}：{zh}"),
            QueryError::Timeout { seconds } => format!("查询超过 {seconds} 秒，已被终止"),
            QueryError::Engine(error) => {
                use datafusion::error::DataFusionError as E;
                match error.find_root() {
                    E::SQL(..) => format!("SQL 语法错误：{error}"),
                    E::Plan(_) | E::SchemaError(..) => format!("查询无法执行（字段或表不存在等）：{error}"),
                    E::ResourcesExhausted(_) => "查询超出内存限制，请缩小范围或改用聚合".into(),
                    E::NotImplemented(_) => format!("不支持的查询：{error}"),
                    _ => "查询执行失败".into(),
                }
            }
        }
    }
}
