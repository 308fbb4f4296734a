//! Table queries, SQL and downloads over real Parquet written by ingest.
//! Issue 3.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::util::pretty::pretty_format_batches;
use futures::StreamExt;
use gongshu_ingest::{IngestOptions, ingest};
use gongshu_query::{DownloadFormat, QueryEngine, QueryError, QueryLimits, Table, TableQuery, encode_stream};
use object_store::local::LocalFileSystem;

const CITIES: &str = "省份,城市,代码,人口,面积,设立日期,是否省会\n\
北京市,北京,110000,\"2,185.8\",16410.54,1949/10/1,是\n\
广东省,广州,440100,1882.7,7434.4,1949年10月14日,是\n\
广东省,深圳,440300,1779.0,1997.47,1979-03-05,否\n\
浙江省,杭州,330100,1252.2,16850,1949-05-03,是\n\
浙江省,宁波,330200,961.8,9816,,否\n\
四川省,Chengdu,510100,2140.3,14335,1949-12-27,是\n";

const PROVINCES: &str = "省份,简称\n北京市,京\n广东省,粤\n浙江省,浙\n四川省,川\n";

struct Fixture {
    engine: QueryEngine,
    cities: Table,
    provinces: Table,
    _dir: tempfile::TempDir,
}

fn fixture(limits: QueryLimits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let mut tables = Vec::new();
    for (name, csv) in [("cities", CITIES), ("provinces", PROVINCES)] {
        let source = dir.path().join(format!("{name}.csv"));
        std::fs::write(&source, csv).unwrap();
        let location = format!("resources/{name}/versions/v1/data.parquet");
        let output = objects.join(&location);
        std::fs::create_dir_all(output.parent().unwrap()).unwrap();
        ingest(&source, &IngestOptions::default(), &output, &|_| {}).unwrap();
        tables.push(Table { name: name.into(), location, shape: None });
    }
    let store = Arc::new(LocalFileSystem::new_with_prefix(&objects).unwrap());
    let provinces = tables.pop().unwrap();
    let cities = tables.pop().unwrap();
    Fixture { engine: QueryEngine::new(store, limits), cities, provinces, _dir: dir }
}

fn query(text: &str) -> TableQuery {
    let pairs: Vec<(String, String)> = form_pairs(text);
    TableQuery::from_params(&pairs).unwrap()
}

fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

async fn rows(f: &Fixture, text: &str) -> (String, u64) {
    let page = f.engine.table_query(&f.cities, &query(text)).await.unwrap_or_else(|e| panic!("{text}: {e}"));
    (pretty_format_batches(&page.batches).unwrap().to_string(), page.total)
}

fn cities_of(table: &str) -> Vec<String> {
    let mut names: Vec<String> = ["北京", "广州", "深圳", "杭州", "宁波", "Chengdu"]
        .iter()
        .filter(|name| table.contains(*name))
        .map(|name| (*name).to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn filters_compare_typed_values() {
    let f = fixture(QueryLimits::default());
    let (table, total) = rows(&f, "省份=广东省").await;
    assert_eq!((cities_of(&table), total), (vec!["广州".into(), "深圳".into()], 2));
    assert_eq!(cities_of(&rows(&f, "人口__gte=1,800").await.0), ["Chengdu", "北京", "广州"]);
    assert_eq!(cities_of(&rows(&f, "面积__lt=8000.5").await.0), ["广州", "深圳"]);
    assert_eq!(
        cities_of(&rows(&f, "设立日期__lt=1950年1月1日&设立日期__gte=1949/10/1").await.0),
        ["Chengdu", "北京", "广州"]
    );
    assert_eq!(cities_of(&rows(&f, "代码__in=110000,510100").await.0), ["Chengdu", "北京"]);
    assert_eq!(cities_of(&rows(&f, "城市__contains=州").await.0), ["广州", "杭州"]);
    assert_eq!(cities_of(&rows(&f, "代码__prefix=33").await.0), ["宁波", "杭州"], "prefix works on numbers too");
    assert_eq!(cities_of(&rows(&f, "设立日期__isnull=true").await.0), ["宁波"]);
    assert_eq!(cities_of(&rows(&f, "是否省会=否&省份__ne=浙江省").await.0), ["深圳"]);
}

#[tokio::test]
async fn text_search_sort_fields_and_pages() {
    let f = fixture(QueryLimits::default());
    assert_eq!(cities_of(&rows(&f, "_q=浙江").await.0), ["宁波", "杭州"]);
    assert_eq!(cities_of(&rows(&f, "_q=chengdu").await.0), ["Chengdu"], "Latin text ignores case");
    assert_eq!(cities_of(&rows(&f, "_q=广东 深").await.0), ["深圳"], "every word must match");
    let page =
        f.engine.table_query(&f.cities, &query("_sort=-人口&_fields=城市,人口&_limit=2&_offset=1")).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(page.schema.fields().len(), 2);
    let text = pretty_format_batches(&page.batches).unwrap().to_string();
    let order: Vec<&str> =
        text.lines().filter_map(|l| ["Chengdu", "广州", "北京"].into_iter().find(|c| l.contains(c))).collect();
    assert_eq!(order, ["Chengdu", "广州"], "{text}");
}

#[tokio::test]
async fn group_by_with_aggregates() {
    let f = fixture(QueryLimits::default());
    let page = f
        .engine
        .table_query(&f.cities, &query("_group_by=省份&_aggregate=count,sum:人口,max:面积&_sort=-count,省份"))
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    let text = pretty_format_batches(&page.batches).unwrap().to_string();
    let first_data_line = text.lines().nth(3).unwrap();
    assert!(first_data_line.contains("广东省") && first_data_line.contains("3661.7"), "{text}");
    let error = f.engine.table_query(&f.cities, &query("_aggregate=sum:城市")).await.unwrap_err();
    assert!(matches!(&error, QueryError::Invalid { param, .. } if param == "_aggregate"), "{error}");
}

#[tokio::test]
async fn mistakes_name_the_parameter_and_column() {
    let f = fixture(QueryLimits::default());
    for (text, param) in [
        ("人数__gt=3", "人数__gt"),
        ("人口__gt=很多", "人口__gt"),
        ("设立日期__gt=yesterday", "设立日期__gt"),
        ("_sort=人数", "_sort"),
        ("_fields=城市,人数", "_fields"),
        ("_group_by=人数", "_group_by"),
    ] {
        match f.engine.table_query(&f.cities, &query(text)).await {
            Err(QueryError::Invalid { param: p, en, zh }) => {
                assert_eq!(p, param, "{text}");
                assert!(!en.is_empty() && !zh.is_empty());
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn sql_reads_only_the_tables_it_is_given() {
    let f = fixture(QueryLimits { sql_row_cap: 3, ..QueryLimits::default() });
    let sql =
        "SELECT c.\"城市\", p.\"简称\" FROM cities c JOIN provinces p ON c.\"省份\" = p.\"省份\" ORDER BY c.\"代码\"";
    assert_eq!(f.engine.referenced_tables(sql).unwrap(), ["cities", "provinces"]);
    let result = f.engine.sql(&[f.cities.clone(), f.provinces.clone()], sql).await.unwrap();
    assert!(result.truncated, "six rows, a cap of three");
    let text = pretty_format_batches(&result.batches).unwrap().to_string();
    assert!(text.contains("北京") && text.contains("京"), "{text}");
    assert_eq!(result.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);

    for refused in [
        "DROP TABLE cities",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO cities VALUES (1)",
        "COPY cities TO '/tmp/x.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let error = f.engine.sql(std::slice::from_ref(&f.cities), refused).await.unwrap_err();
        assert!(error.is_bad_query(), "{refused}: {error}");
    }
    let unknown = f.engine.sql(std::slice::from_ref(&f.cities), "SELECT * FROM provinces").await.unwrap_err();
    assert!(unknown.is_bad_query() && unknown.to_string().contains("provinces"), "{unknown}");
    let syntax = f.engine.sql(&[], "SELEKT 1").await.unwrap_err();
    assert!(syntax.message_zh().starts_with("SQL 语法错误"), "{}", syntax.message_zh());
}

#[tokio::test]
async fn queries_stop_at_their_time_limit() {
    let f = fixture(QueryLimits { timeout: Duration::from_millis(20), ..QueryLimits::default() });
    // 6^10 rows: far more work than fits the limit on any machine, so the
    // query cannot finish before the timer does.
    let joined = (0..10).map(|i| format!("cities c{i}")).collect::<Vec<_>>().join(", ");
    // A sum over every row (a count would be answered from statistics).
    let sql = format!("SELECT sum(c0.代码 + c9.代码) FROM {joined}");
    let error = f.engine.sql(std::slice::from_ref(&f.cities), &sql).await.unwrap_err();
    assert!(matches!(error, QueryError::Timeout { .. }), "{error}");
}

async fn download(f: &Fixture, text: &str, format: DownloadFormat) -> Vec<u8> {
    let stream = f.engine.table_stream(&f.cities, &query(text)).await.unwrap();
    let mut bytes = Vec::new();
    let mut encoded = Box::pin(encode_stream(stream, format));
    while let Some(chunk) = encoded.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    bytes
}

#[tokio::test]
async fn downloads_in_every_format() {
    let f = fixture(QueryLimits::default());
    let csv = String::from_utf8(download(&f, "省份=浙江省&_sort=代码", DownloadFormat::Csv).await).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "省份,城市,代码,人口,面积,设立日期,是否省会");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("浙江省,杭州,330100,1252.2,16850.00,1949-05-03,true"), "{csv}");

    let bom = download(&f, "省份=浙江省", DownloadFormat::CsvBom).await;
    assert!(bom.starts_with("\u{feff}省份".as_bytes()));
    let gb = download(&f, "省份=浙江省", DownloadFormat::CsvGb18030).await;
    let (decoded, _, errors) = encoding_rs::GB18030.decode(&gb);
    assert!(!errors && decoded.starts_with("省份,城市"));
    assert!(std::str::from_utf8(&gb).is_err(), "it is GB18030, not UTF-8");

    let json: serde_json::Value =
        serde_json::from_slice(&download(&f, "_sort=代码", DownloadFormat::Json).await).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 6);
    assert_eq!(json[0]["城市"], "北京");
    let ndjson = download(&f, "", DownloadFormat::Ndjson).await;
    assert_eq!(ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(), 6);

    let empty_csv = String::from_utf8(download(&f, "省份=西藏自治区", DownloadFormat::Csv).await).unwrap();
    assert_eq!(empty_csv.trim(), "省份,城市,代码,人口,面积,设立日期,是否省会");
    let empty_json = download(&f, "省份=西藏自治区", DownloadFormat::Json).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&empty_json).unwrap(), serde_json::json!([]));
}
