//! Every query lives in a `.sql` file under `crates/db/queries/<area>/`,
//! named by its path: `query!("runs/claim")` is `queries/runs/claim.sql`.
//! A test prepares every file against the migrated schema.

/// One query's text and name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query {
    #[allow(dead_code)]
    pub name: &'static str,
    pub sql: &'static str,
}

/// The query in `queries/<path>.sql`.
macro_rules! query {
    ($path:literal) => {
        $crate::query::Query {
            name: $path,
            sql: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/queries/",
                $path,
                ".sql"
            )),
        }
    };
}
