//! The DCAT examples of ckanext-dcat (../shared/data/conformance/dcat-examples,
//! test inputs only) read as a harvest reads them: every dataset with its
//! title, distributions and provenance, in Turtle, RDF/XML and JSON-LD,
//! straight from files and over HTTP with Hydra paging. Issue 4.

use std::path::{Path, PathBuf};

use gongshu_harvest::{RdfSyntax, SourceKind, parse_dcat};

fn examples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/conformance/dcat-examples");
    if dir.is_dir() {
        return Some(dir);
    }
    // CI has ../shared beside the clone: a missing folder there is a failure, not a skip.
    assert!(std::env::var_os("CI").is_none(), "{} is missing", dir.display());
    eprintln!("skipped: {} is missing", dir.display());
    None
}

fn rdf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("dcat__"))
        .collect();
    files.sort();
    files
}

/// (file, datasets, first dataset's title, its publisher, its distributions).
const EXPECTED: &[(&str, usize, &str, Option<&str>, usize)] = &[
    ("dcat__catalog.rdf", 2, "Example dataset 1", Some("Publishing Organization for dataset 1"), 3),
    ("dcat__catalog_datasets_list.rdf", 2, "Example dataset 1", Some("Publishing Organization for dataset 1"), 3),
    ("dcat__catalog_pod.jsonld", 1, "U.S. Widget Manufacturing Statistics", Some("Widget Services"), 4),
    ("dcat__catalog_with_at_graph.jsonld", 1, "Title dataset", None, 1),
    ("dcat__dataset.rdf", 1, "Zimbabwe Regional Geochemical Survey.", Some("Publishing Organization for dataset 1"), 1),
    ("dcat__dataset_afs.ttl", 1, "A test dataset on your catalogue", Some("Name of the Publishing Organization"), 2),
    ("dcat__dataset_deri.ttl", 1, "Abandoned Vehicles", None, 1),
    (
        "dcat__dataset_gob_es.ttl",
        1,
        "Estudio de Satisfacción con el Programa de Escuelas Municipales de Promoción Deportiva en centros escolares",
        Some("Ayuntamiento de Madrid"),
        1,
    ),
    (
        "dcat__dataset_gov_de.rdf",
        1,
        "Liefer- und Abholservices (Gastronomie)",
        Some("Hanse- und Universitätsstadt Rostock"),
        9,
    ),
    ("dcat__dataset_health.ttl", 1, "HealthDCAT-AP test dataset", Some("Contact Point"), 1),
    ("dcat__dataset_health_multilingual.ttl", 1, "Health dataset", Some("Health Institute"), 1),
    ("dcat__dataset_health_no_blank.ttl", 1, "HealthDCAT-AP test dataset", None, 0),
    ("dcat__dataset_multilingual.ttl", 1, "Test DCAT dataset", None, 1),
    ("dcat__dataset_sweden.rdf", 1, "Linked Nobel prizes", Some("Nobel Media AB"), 1),
];

#[test]
fn every_example_reads_with_its_datasets() {
    let Some(dir) = examples() else { return };
    let files = rdf_files(&dir);
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let base = format!("https://harvest.example/{name}");
        let parsed = parse_dcat(&std::fs::read(path).unwrap(), RdfSyntax::detect(None, &base), &base);
        if name == "dcat__dataset.ttl" {
            // The example uses a prefix it never declares: the error says where.
            let error = parsed.unwrap_err().to_string();
            assert!(error.contains("line 149") && error.contains("healthdcatap"), "{error}");
            continue;
        }
        let page = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        let &(_, count, title, publisher, distributions) =
            EXPECTED.iter().find(|e| e.0 == name).unwrap_or_else(|| panic!("{name} has no expectation"));
        let first = &page.datasets[0];
        assert_eq!(page.datasets.len(), count, "{name}");
        assert_eq!((first.title.as_str(), first.publisher.as_deref()), (title, publisher), "{name}");
        assert_eq!(first.distributions.len(), distributions, "{name}");
        assert!(page.datasets.iter().all(|d| d.remote_id.starts_with("http")), "{name}: datasets are named by IRI");
    }
    assert_eq!(files.len(), EXPECTED.len() + 1, "every example file is checked");
}

#[test]
fn multilingual_and_described_fields_are_kept() {
    let Some(dir) = examples() else { return };
    let read = |name: &str| {
        let base = format!("https://harvest.example/{name}");
        parse_dcat(&std::fs::read(dir.join(name)).unwrap(), RdfSyntax::detect(None, &base), &base).unwrap().datasets
    };
    let rostock = &read("dcat__dataset_gov_de.rdf")[0];
    assert!(rostock.distributions.iter().all(|d| d.url.as_deref().is_some_and(|u| u.starts_with("http"))));
    assert!(!rostock.keywords.is_empty() && rostock.landing_page.is_some(), "{rostock:?}");
    let catalog = read("dcat__catalog.rdf");
    assert_eq!(catalog[1].title, "Example dataset 2");
    let multilingual = &read("dcat__dataset_multilingual.ttl")[0];
    assert!(multilingual.description.is_some(), "{multilingual:?}");
}

/// A catalog served over HTTP in two Hydra pages, then an example served as RDF/XML by content type.
#[tokio::test]
async fn a_paged_catalog_is_followed_over_http() {
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::get;
    let page = |n: u32, next: Option<&str>| {
        let next = next.map(|n| format!("; hydra:next <{n}>")).unwrap_or_default();
        format!(
            "@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
             @prefix hydra: <http://www.w3.org/ns/hydra/core#> .
             <catalog.ttl?page={n}> a hydra:PartialCollectionView {next} .
             <https://p.example/d/{n}> a dcat:Dataset ; dct:title \"数据集{n}\"@zh-CN, \"Dataset {n}\"@en ;
                 dcat:keyword \"关键词\" ; dct:accrualPeriodicity <http://publications.europa.eu/resource/authority/frequency/MONTHLY> ;
                 dcat:distribution [ dcat:downloadURL <https://p.example/d/{n}.csv> ; dct:format \"CSV\" ] ."
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let first = page(1, Some("catalog.ttl?page=2"));
    let second = page(2, None);
    let rdf = examples().map(|dir| std::fs::read(dir.join("dcat__catalog.rdf")).unwrap());
    let app = axum::Router::new()
        .route(
            "/catalog.ttl",
            get(move |query: axum::extract::RawQuery| {
                let body = if query.0.as_deref() == Some("page=2") { second.clone() } else { first.clone() };
                async move { ([(CONTENT_TYPE, "text/turtle")], body) }
            }),
        )
        .route(
            "/export",
            get(move || {
                let rdf = rdf.clone().unwrap_or_default();
                async move { ([(CONTENT_TYPE, "application/rdf+xml")], rdf) }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let fetched = gongshu_harvest::fetch(SourceKind::Dcat, &format!("http://{address}/catalog.ttl")).await.unwrap();
    assert_eq!(fetched.pages, 2);
    assert!(fetched.complete, "the last page has no next");
    let titles: Vec<_> = fetched.datasets.iter().map(|d| (d.title.as_str(), d.title_en.as_deref())).collect();
    assert_eq!(titles, [("数据集1", Some("Dataset 1")), ("数据集2", Some("Dataset 2"))]);
    assert_eq!(fetched.datasets[0].frequency.as_deref(), Some("MONTHLY"));
    assert_eq!(fetched.datasets[1].distributions[0].url.as_deref(), Some("https://p.example/d/2.csv"));

    if examples().is_some() {
        let fetched = gongshu_harvest::fetch(SourceKind::Dcat, &format!("http://{address}/export")).await.unwrap();
        assert_eq!(fetched.datasets.len(), 2, "the content type says RDF/XML");
    }
    let missing = gongshu_harvest::fetch(SourceKind::Dcat, &format!("http://{address}/nothing")).await.unwrap_err();
    assert!(missing.to_string().contains("HTTP 404"), "{missing}");
    let not_ckan =
        gongshu_harvest::fetch(SourceKind::Ckan, &format!("http://{address}/catalog.ttl")).await.unwrap_err();
    assert!(not_ckan.to_string().contains("HTTP 404"), "{not_ckan}");
}

#[test]
fn only_web_addresses_are_kept_and_unnamed_blank_datasets_are_skipped() {
    let turtle = br#"@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
        <https://p.example/d/1> a dcat:Dataset ; dct:title "one" ; dcat:landingPage <javascript:alert(1)> ;
            dcat:distribution [ dcat:downloadURL <data:text/csv,a> ] , [ dcat:accessURL <https://p.example/d/1.csv> ] .
        [] a dcat:Dataset ; dct:title "no identifier" .
        [] a dcat:Dataset ; dct:title "named" ; dct:identifier "ds-3" ."#;
    let page = parse_dcat(turtle, RdfSyntax::Turtle, "https://p.example/catalog.ttl").unwrap();
    let ids: Vec<&str> = page.datasets.iter().map(|d| d.remote_id.as_str()).collect();
    assert_eq!(ids, ["https://p.example/d/1", "ds-3"]);
    let first = &page.datasets[0];
    assert_eq!(first.landing_page, None, "a javascript: address is dropped");
    let urls: Vec<Option<&str>> = first.distributions.iter().map(|d| d.url.as_deref()).collect();
    assert_eq!(urls, [None, Some("https://p.example/d/1.csv")]);
    assert_eq!(gongshu_harvest::web_url("JavaScript:alert(1)"), None);
    assert_eq!(gongshu_harvest::web_url(" https://p.example/a b "), Some("https://p.example/a%20b".into()));
}
