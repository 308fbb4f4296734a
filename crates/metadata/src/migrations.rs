//! Schema migrations, embedded in the binary and run at start-up.

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::sql::Backend;

/// Every migration, in order. Append; never edit a released one (sqlx
/// checks their checksums).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "search text", include_str!("../migrations/0002_search_text.sql")),
    (3, "dataset versions", include_str!("../migrations/0003_dataset_version.sql")),
    (4, "public requests", include_str!("../migrations/0004_public_request.sql")),
    (5, "harvest", include_str!("../migrations/0005_harvest.sql")),
    (6, "grants", include_str!("../migrations/0006_grants.sql")),
    (7, "agreements", include_str!("../migrations/0007_agreements.sql")),
    (8, "sharing duties", include_str!("../migrations/0008_sharing_duties.sql")),
    (9, "sharing bundles", include_str!("../migrations/0009_sharing_bundles.sql")),
    (10, "ledger", include_str!("../migrations/0010_ledger.sql")),
    (11, "supervision", include_str!("../migrations/0011_supervision.sql")),
    (12, "products", include_str!("../migrations/0012_products.sql")),
    (13, "subscription_unique", include_str!("../migrations/0013_subscription_unique.sql")),
];

/// The migrator for `backend`, with the dialect placeholders filled in.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let serial_primary_key = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    };
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            let sql = sql.replace("{serial_primary_key}", serial_primary_key);
            Migration::new(
                *version,
                (*description).into(),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}
