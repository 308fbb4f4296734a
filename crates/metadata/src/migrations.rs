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
    (14, "ledger leaves", include_str!("../migrations/0014_ledger_leaves.sql")),
];

/// The migrator for `backend`, with the dialect placeholders filled in.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    migrator_up_to(backend, i64::MAX)
}

/// The migrations up to `last`, for testing an upgrade from that version.
fn migrator_up_to(backend: Backend, last: i64) -> Migrator {
    let serial_primary_key = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    };
    let migrations = MIGRATIONS
        .iter()
        .filter(|(version, _, _)| *version <= last)
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

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    /// A ledger written before migration 14 keeps every entry, pending or
    /// integrated, with its leaf hash beside its place.
    #[tokio::test]
    async fn ledger_places_gain_their_leaf_hashes() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("upgrade.db").display());
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        migrator_up_to(Backend::Sqlite, 13).run(&pool).await.unwrap();
        for (queue_id, leaf) in [(1, "aa"), (2, "bb"), (3, "cc")] {
            sqlx::query(
                "INSERT INTO ledger_entry (queue_id, kind, ref_seq, body, leaf_hash, queued_at) \
                 VALUES ($1, 'state', $1, '{}', $2, '2026-11-28T00:00:00.000000Z')",
            )
            .bind(queue_id)
            .bind(leaf.repeat(32))
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlx::query("INSERT INTO ledger_index (idx, queue_id) VALUES (0, 1), (1, 2)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO ledger_pending (queue_id) VALUES (3)").execute(&pool).await.unwrap();

        migrator(Backend::Sqlite).run(&pool).await.unwrap();
        let index = sqlx::query("SELECT idx, queue_id, leaf_hash FROM ledger_index ORDER BY idx")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get::<i64, _>(0), row.get::<i64, _>(1), row.get::<String, _>(2)))
            .collect::<Vec<_>>();
        assert_eq!(index, [(0, 1, "aa".repeat(32)), (1, 2, "bb".repeat(32))]);
        let pending = sqlx::query("SELECT queue_id, leaf_hash FROM ledger_pending")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get::<i64, _>(0), row.get::<String, _>(1)))
            .collect::<Vec<_>>();
        assert_eq!(pending, [(3, "cc".repeat(32))]);
        // The constraints came along: a place is unique, a leaf is required.
        assert!(
            sqlx::query("INSERT INTO ledger_index (idx, queue_id, leaf_hash) VALUES (2, 1, 'dd')")
                .execute(&pool)
                .await
                .is_err()
        );
        assert!(sqlx::query("INSERT INTO ledger_pending (queue_id) VALUES (4)").execute(&pool).await.is_err());
    }
}
