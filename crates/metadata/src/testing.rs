//! Fresh, empty stores for tests of this crate and the crates above it.
//!
//! SQLite always runs, in a temporary directory. PostgreSQL runs when
//! `GONGSHU_TEST_POSTGRES_URL` names a server; each store gets its own schema
//! there, so tests run in parallel without seeing each other. Without the URL
//! the PostgreSQL half is skipped with a notice, except in CI (`CI=true`) or
//! with `GONGSHU_REQUIRE_POSTGRES` set, where skipping is a failure.

use sqlx::{AssertSqlSafe, Connection};

use crate::SqlStore;

/// A store that lives as long as this value.
pub struct TestStore {
    /// The store.
    pub store: SqlStore,
    /// Where it is, for a second connection (a second server).
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    _directory: Option<tempfile::TempDir>,
}

/// A fresh SQLite store in a temporary directory.
pub async fn sqlite() -> TestStore {
    let directory = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", directory.path().join("gongshu.db").display());
    let store = SqlStore::connect(&url).await.expect("sqlite store");
    TestStore { store, url, _directory: Some(directory) }
}

/// A fresh PostgreSQL store in a schema of its own, or `None` (with a
/// notice) when no server is configured.
#[allow(clippy::disallowed_methods, reason = "test configuration comes from the environment")]
pub async fn postgres() -> Option<TestStore> {
    let Ok(base_url) = std::env::var("GONGSHU_TEST_POSTGRES_URL") else {
        let in_ci = std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1");
        if in_ci || std::env::var_os("GONGSHU_REQUIRE_POSTGRES").is_some() {
            panic!(
                "GONGSHU_TEST_POSTGRES_URL is not set, but in CI (or with GONGSHU_REQUIRE_POSTGRES) the PostgreSQL suite must run"
            );
        }
        eprintln!("notice: GONGSHU_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run of this test");
        return None;
    };
    let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&base_url).await.expect("connect to the PostgreSQL test server");
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut admin).await.expect("create schema");
    admin.close().await.ok();
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-c%20search_path%3D{schema}");
    let store = SqlStore::connect(&url).await.expect("postgres store");
    Some(TestStore { store, url, _directory: None })
}

/// Runs one async test body against both backends.
///
/// ```ignore
/// both_backends!(organizations_round_trip, |store: SqlStore| async move { … });
/// ```
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let test_store = $crate::testing::sqlite().await;
                ($body)(test_store.store.clone()).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(test_store) = $crate::testing::postgres().await else {
                    return;
                };
                ($body)(test_store.store.clone()).await;
            }
        }
    };
}
