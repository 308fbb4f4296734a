//! Project rules that are cheaper as tests than as reviews: every module
//! says what it owns, and the pure crates stay pure.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    assert!(files.len() > 20);
    let missing: Vec<_> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(missing.is_empty(), "files without a `//!` header saying what they own: {missing:#?}");
}

#[test]
fn the_domain_and_policy_crates_do_no_io() {
    for krate in ["domain", "policy"] {
        let manifest = std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
        let dependencies = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
        for forbidden in ["tokio", "sqlx", "axum", "datafusion", "tantivy", "object_store", "reqwest"] {
            assert!(!dependencies.contains(forbidden), "{krate} must stay pure but depends on {forbidden}");
        }
    }
}
