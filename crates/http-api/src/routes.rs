//! Routers, one per resource, merged in [`crate::router`].

pub(crate) mod accounts;
pub(crate) mod agreements;
pub(crate) mod bundles;
pub(crate) mod data;
pub(crate) mod duties;
pub(crate) mod harvest;
pub(crate) mod ledger;
pub(crate) mod meta;
pub(crate) mod products;
pub(crate) mod registrations;
pub(crate) mod requests;
pub(crate) mod resources;
pub(crate) mod search;
pub(crate) mod sharing;
pub(crate) mod supervision;
pub(crate) mod versions;

/// Splits `a,b` query values into a list.
pub(crate) fn split_list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}
