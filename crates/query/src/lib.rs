//! Queries over data versions with DataFusion: table queries (filters,
//! text search, sort, fields, paging, group-by), read-only SQL, and
//! streaming encodings for downloads (XLSX through a temporary file); shaped
//! views that let through only what a grant allows, and the aggregate-only
//! sandbox.
//!
//! Every query runs in its own `SessionContext`, which sees only the tables
//! it is handed, under a memory limit and a timeout.
//!
//! **Architecture Invariant:** this crate executes; it never decides who may
//! read what. The access gateway in `app` hands it only tables the caller may
//! read, and is the only caller.

mod encode;
mod engine;
mod error;
mod params;
mod privacy;
mod sandbox;
mod shape;
mod xlsx;

pub use encode::{DownloadFormat, encode_stream, records_json};
pub use engine::{PreparedQuery, QueryEngine, QueryLimits, QueryPage, SqlResult, Table};
pub use error::QueryError;
pub use params::{Aggregate, AggregateFunction, Filter, FilterOp, TableQuery};
pub use sandbox::SandboxRules;
pub use shape::{Shape, apply_mask};
pub use xlsx::encode_xlsx;
