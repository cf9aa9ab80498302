//! Every `.sql` file under `queries/` prepares against the migrated schema,
//! as the code sends it (no parameter types given), so a misspelt column,
//! a status no enum knows or an ambiguous parameter fails here, not in a
//! request.

use std::path::{Path, PathBuf};

use crate::common::TestDb;

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_query_prepares_against_the_schema() {
    let t = TestDb::new().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut files = Vec::new();
    sql_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 50, "{} queries found", files.len());
    let client = t.db.client().await.unwrap();
    let mut failures = Vec::new();
    for f in &files {
        let sql = std::fs::read_to_string(f).unwrap();
        if let Err(e) = client.prepare(&sql).await {
            failures.push(format!(
                "{}: {}",
                f.strip_prefix(&root).unwrap().display(),
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_owned())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "queries that do not prepare:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_query_file_is_used_by_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sql_files(&root.join("queries"), &mut files);
    let mut code = String::new();
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            code.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let unused: Vec<String> = files
        .iter()
        .map(|f| {
            let name = f
                .strip_prefix(root.join("queries"))
                .unwrap()
                .with_extension("");
            name.display().to_string()
        })
        .filter(|name| !code.contains(&format!("query!(\"{name}\")")))
        .collect();
    assert!(unused.is_empty(), "query files no code uses: {unused:?}");
}
