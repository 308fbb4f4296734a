//! A whole application over fresh stores with the demo loaded, for the test
//! suites of the crates above this one (API, portal, CKAN): one place that
//! knows how to wire it, so that every suite sees the same instance.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use gongshu_datafiles::DataStore;
use gongshu_domain::{RegionCode, WorkingCalendar};
use gongshu_metadata::SqlStore;
use gongshu_metadata::testing::{self, TestStore};

use crate::{App, CatalogIndex, ManualClock, RegistrationRules, Stores, demo};

/// An application holding the demo, on Friday 27 November 2026 at 10:00 in
/// Beijing, with a clock the test may move. Its stores live as long as it does.
pub struct DemoApp {
    /// The application.
    pub app: App,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// The demo administrator's API token.
    pub admin_token: String,
    /// Its data store, for benchmarks that run the query engine beside the gateway.
    pub data: DataStore,
    _store: TestStore,
    _data: tempfile::TempDir,
}

impl DemoApp {
    /// A fresh instance (SQLite, local data files, an in-memory search index).
    pub async fn new() -> DemoApp {
        Box::pin(DemoApp::on(testing::sqlite().await)).await
    }

    /// The same on a PostgreSQL schema of its own, when the PostgreSQL
    /// suite runs (`GONGSHU_TEST_POSTGRES_URL`); `None` when it is skipped
    /// outside CI.
    pub async fn postgres() -> Option<DemoApp> {
        Some(Box::pin(DemoApp::on(testing::postgres().await?)).await)
    }

    async fn on(store: TestStore) -> DemoApp {
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()));
        let rules = rules();
        let data = tempfile::tempdir().expect("temporary directory");
        let stores = Stores {
            metadata: Arc::new(store.store.clone()),
            data: DataStore::local(&data.path().join("objects")).expect("local data store"),
            scratch: data.path().to_owned(),
            search: Arc::new(CatalogIndex::in_memory().expect("search index")),
        };
        let data_store = stores.data.clone();
        let app = App::new(stores, clock.clone(), WorkingCalendar::default(), rules);
        // Boxed: the demo's future is large, and test threads have small stacks.
        let summary = Box::pin(demo::load(&app)).await.expect("the demo loads");
        DemoApp { app, clock, admin_token: summary.admin_token, data: data_store, _store: store, _data: data }
    }

    /// Where its database is.
    pub fn url(&self) -> &str {
        &self._store.url
    }

    /// A second server on the same database and data files, as when the
    /// platform is scaled out behind a load balancer (with a search index
    /// of its own, like any server).
    pub async fn another_server(&self) -> App {
        let stores = Stores {
            metadata: Arc::new(
                SqlStore::connect(&second_server_url(&self._store.url)).await.expect("a second connection"),
            ),
            data: self.data.clone(),
            scratch: self._data.path().to_owned(),
            search: Arc::new(CatalogIndex::in_memory().expect("search index")),
        };
        App::new(stores, self.clock.clone(), WorkingCalendar::default(), rules())
    }
}

/// A PostgreSQL server's connections are named, so a test can find them.
fn second_server_url(url: &str) -> String {
    if url.starts_with("postgres") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}application_name=gongshu-second-server")
    } else {
        url.to_owned()
    }
}

fn rules() -> RegistrationRules {
    RegistrationRules {
        registry_region: RegionCode::parse("region", "330100").expect("a valid code"),
        ..RegistrationRules::default()
    }
}
