//! Errors of the use cases, each one a thing a caller can act on.

use gongshu_domain::{InvalidTransition, Validations};
use gongshu_metadata::StoreError;

/// Why a use case did not happen. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is invalid; every problem is listed.
    #[error("invalid input: {0}")]
    Validation(#[from] Validations),
    /// No valid token was presented.
    #[error("not signed in: {0}")]
    Unauthenticated(&'static str),
    /// The policy denied the action.
    #[error("forbidden: {en} / {zh}")]
    Forbidden {
        /// Why, in English.
        en: &'static str,
        /// Why, in Chinese.
        zh: &'static str,
    },
    /// No such entity (or the caller may not know it exists).
    #[error("{entity} `{id}` not found / 未找到")]
    NotFound {
        /// Kind of entity.
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The entity's state does not allow the action.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The action conflicts with existing data or with a rule that depends
    /// on other records (a pending registration, an open objection …).
    #[error("conflict: {en} / {zh}")]
    Conflict {
        /// What conflicts, in English.
        en: String,
        /// What conflicts, in Chinese.
        zh: String,
    },
    /// The store failed; the details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// A conflict said in both languages.
    pub fn conflict(en: impl Into<String>, zh: impl Into<String>) -> Self {
        AppError::Conflict { en: en.into(), zh: zh.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity, id } => AppError::NotFound { entity, id },
            StoreError::Stale { entity, id } => AppError::Conflict {
                en: format!("{entity} `{id}` was changed by someone else meanwhile; reload it and try again"),
                zh: format!("{entity} `{id}` 已被他人修改，请刷新后重试"),
            },
            // Call sites that can break a unique rule say which; this is the fallback.
            StoreError::Duplicate(_) => AppError::Conflict {
                en: "a record with the same unique value already exists".into(),
                zh: "已存在具有相同唯一值的记录".into(),
            },
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<gongshu_domain::ValidationError> for AppError {
    fn from(error: gongshu_domain::ValidationError) -> Self {
        AppError::Validation(error.into())
    }
}
