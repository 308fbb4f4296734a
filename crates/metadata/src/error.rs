//! Errors of the metadata store.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("{entity} `{id}` not found")]
    NotFound {
        /// Kind of entity.
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A unique constraint refused the write.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The row changed since it was read (or was already decided): the
    /// caller should reload and try again.
    #[error("{entity} `{id}` was changed by someone else since it was read")]
    Stale {
        /// Kind of entity.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && db.is_unique_violation()
        {
            return StoreError::Duplicate(db.message().to_owned());
        }
        StoreError::Database(error)
    }
}
