//! Messages between the servers that share one database: a server records
//! a change (a grant suspended, a freeze) and every server hears of it when
//! the transaction commits, through PostgreSQL's `NOTIFY`. SQLite serves
//! one server, so there it is a no-op and nobody listens.

use crate::sql::redact;
use crate::{StoreError, StoreResult};

/// The name of the channel the servers of one schema listen on, as SQL:
/// `gongshu_` and a digest of the schema's name, so instances kept in
/// separate schemas of one database do not hear each other, and a long
/// schema name cannot exceed the 63 bytes of a channel's name.
pub(crate) const CHANNEL_SQL: &str = "'gongshu_' || substr(md5(current_schema()), 1, 24)";

/// The longest message `NOTIFY` carries (8,000 bytes) with room to spare.
pub(crate) const MAX_MESSAGE: usize = 7_000;

/// What a listener hears next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    /// A message another server (or this one) announced.
    Message(String),
    /// The connection dropped: messages may have been missed, so what they
    /// would have said must be read from the records.
    Gap,
}

/// The messages announced on this database, as they commit.
pub struct Announcements {
    listener: sqlx::postgres::PgListener,
    url: String,
}

impl std::fmt::Debug for Announcements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcements").field("url", &redact(&self.url)).finish()
    }
}

impl Announcements {
    pub(crate) async fn listen(url: &str, channel: &str) -> StoreResult<Announcements> {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok(Announcements { listener, url: url.to_owned() })
    }

    /// Waits for the next message; answers [`Announcement::Gap`] when the
    /// connection dropped. A caller that must not miss anything then listens
    /// anew (a new [`Announcements`]) before it reads the records.
    pub async fn next(&mut self) -> StoreResult<Announcement> {
        match self.listener.try_recv().await {
            Ok(Some(notification)) => Ok(Announcement::Message(notification.payload().to_owned())),
            Ok(None) => Ok(Announcement::Gap),
            Err(error) => Err(StoreError::Database(error)),
        }
    }

    /// Asks the database for an answer on the listening connection: a
    /// connection that died without a word (a firewall's idle timeout)
    /// would otherwise wait for messages forever.
    pub async fn ping(&mut self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&mut self.listener).await?;
        Ok(())
    }
}
