//! The DCAT-AP export and the Data Package over the demo catalog,
//! in-process: what each serialization holds, paging, and what is not
//! exported. CI also runs the official SHACL shapes over the same output
//! (tests/clients/catalog_exports.py). Issue 4.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gongshu_app::SearchRequest;
use gongshu_app::testing::DemoApp;
use http_body_util::BodyExt;
use oxrdfio::{RdfFormat, RdfParser};
use serde_json::Value;
use tower::ServiceExt;

async fn get(router: &axum::Router, path: &str) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder().uri(path).header("host", "open.example").body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map_or_else(String::new, |v| v.to_str().unwrap().to_owned());
    (status, content_type, response.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn triples(format: RdfFormat, bytes: &[u8]) -> Vec<oxrdf::Triple> {
    RdfParser::from_format(format)
        .for_slice(bytes)
        .map(|quad| oxrdf::Triple::from(quad.expect("the export parses")))
        .collect()
}

fn objects<'a>(triples: &'a [oxrdf::Triple], predicate: &str) -> Vec<&'a oxrdf::Term> {
    triples.iter().filter(|t| t.predicate.as_str() == predicate).map(|t| &t.object).collect()
}

const DCAT_DATASET: &str = "http://www.w3.org/ns/dcat#dataset";
const DCAT_DOWNLOAD: &str = "http://www.w3.org/ns/dcat#downloadURL";

#[tokio::test]
async fn the_catalog_in_three_serializations_says_the_same() {
    let demo = DemoApp::new().await;
    let router = gongshu_dcat::router(demo.app.clone());
    let mut counts = Vec::new();
    for (path, format, content_type) in [
        ("/catalog.ttl", RdfFormat::Turtle, "text/turtle; charset=utf-8"),
        ("/catalog.jsonld", RdfFormat::JsonLd { profile: oxrdfio::JsonLdProfileSet::empty() }, "application/ld+json"),
        ("/catalog.rdf", RdfFormat::RdfXml, "application/rdf+xml"),
    ] {
        let (status, served_as, body) = get(&router, path).await;
        assert_eq!((status, served_as.as_str()), (StatusCode::OK, content_type), "{path}");
        let graph = triples(format, &body);
        assert_eq!(objects(&graph, DCAT_DATASET).len(), 5, "{path}: every published entry of its own, none harvested");
        counts.push(graph.len());
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "the same triples in every format: {counts:?}");

    let (_, _, turtle) = get(&router, "/catalog.ttl").await;
    let text = String::from_utf8(turtle).unwrap();
    assert!(text.contains("\"逐日天气观测（西雅图，国际比对样例）\"@zh"), "Chinese titles are tagged");
    assert!(text.contains("<http://publications.europa.eu/resource/authority/access-right/RESTRICTED>"));
    assert!(text.contains("<http://open.example/api/v1/resources/"), "links use the host asked for");
    let graph = triples(RdfFormat::Turtle, text.as_bytes());
    let downloads = objects(&graph, DCAT_DOWNLOAD);
    assert_eq!(
        downloads.len(),
        4 * 4,
        "four downloads for each of the four open datasets, none for the conditional one"
    );
}

#[tokio::test]
async fn pages_datasets_and_what_is_not_exported() {
    let demo = DemoApp::new().await;
    let router = gongshu_dcat::router(demo.app.clone());
    let (_, _, first) = get(&router, "/catalog.ttl?page=1").await;
    let first = triples(RdfFormat::Turtle, &first);
    let total = objects(&first, "http://www.w3.org/ns/hydra/core#totalItems");
    assert_eq!(total.len(), 1);
    assert!(matches!(total[0], oxrdf::Term::Literal(l) if l.value() == "5"), "{total:?}");
    assert!(objects(&first, "http://www.w3.org/ns/hydra/core#nextPage").is_empty(), "one page holds the demo");
    let (status, _, beyond) = get(&router, "/catalog.ttl?page=2").await;
    assert_eq!(status, StatusCode::OK);
    let beyond = triples(RdfFormat::Turtle, &beyond);
    assert!(objects(&beyond, DCAT_DATASET).is_empty(), "past the last page: no datasets");
    assert!(!objects(&beyond, "http://www.w3.org/ns/hydra/core#previousPage").is_empty());
    assert_eq!(get(&router, "/catalog.ttl?page=0").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&router, "/catalog.ttl?page=x").await.0, StatusCode::BAD_REQUEST);

    let weather = demo
        .app
        .search_catalog(SearchRequest { text: "天气".into(), limit: 1, ..Default::default() })
        .await
        .unwrap()
        .resources[0]
        .id
        .clone();
    let (status, _, one) = get(&router, &format!("/datasets/{weather}/dcat.ttl")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(objects(&triples(RdfFormat::Turtle, &one), DCAT_DATASET).len(), 1);
    assert_eq!(get(&router, "/datasets/no-such-entry/dcat.ttl").await.0, StatusCode::NOT_FOUND);

    let (status, _, package) = get(&router, &format!("/datasets/{weather}/datapackage.json")).await;
    assert_eq!(status, StatusCode::OK);
    let package: Value = serde_json::from_slice(&package).unwrap();
    let fields = package["resources"][0]["schema"]["fields"].as_array().unwrap();
    let types: Vec<(&str, &str)> =
        fields.iter().map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap())).collect();
    assert_eq!(
        types,
        [
            ("date", "date"),
            ("precipitation", "number"),
            ("temp_max", "number"),
            ("temp_min", "number"),
            ("wind", "number"),
            ("weather", "string")
        ]
    );
    assert_eq!(fields[0]["title"], "观测日期");
    assert!(package["resources"][0]["path"].as_str().unwrap().ends_with("format=csv&_version=1"));

    // Conditionally open data: metadata, but no rows in the package.
    let smoking = demo
        .app
        .search_catalog(SearchRequest { text: "吸烟".into(), limit: 1, ..Default::default() })
        .await
        .unwrap()
        .resources[0]
        .id
        .clone();
    let (_, _, closed) = get(&router, &format!("/datasets/{smoking}/datapackage.json")).await;
    let closed: Value = serde_json::from_slice(&closed).unwrap();
    assert_eq!(closed["resources"], serde_json::json!([]));
}
