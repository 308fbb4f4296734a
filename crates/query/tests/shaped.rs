//! Shaped views and the aggregate-only sandbox under attack: the file of
//! escape attempts (`escapes.txt`), and random grants × random queries.
//! Issue 5.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gongshu_domain::{Mask, RowCondition, RowOp};
use gongshu_ingest::{IngestOptions, ingest};
use gongshu_query::{QueryEngine, QueryLimits, SandboxRules, Shape, SqlResult, Table, apply_mask, records_json};
use object_store::local::LocalFileSystem;
use proptest::prelude::*;
use serde_json::{Value, json};

const PEOPLE: &str = "name,ssn,district,age,income,note\n\
张三,SSN-110,330106,34,1200,NOTE-a\n\
李四,SSN-111,330106,39,800,NOTE-b\n\
王五,SSN-112,330106,54,1500,NOTE-c\n\
赵六,SSN-113,330106,24,600,NOTE-d\n\
钱七,SSN-114,330106,56,900,NOTE-e\n\
孙八,SSN-115,330102,777,424242,NOTE-f\n\
周九,SSN-116,330102,888,515151,NOTE-g\n";

const KEY: &[u8] = b"KEY-grant-secret-0123456789abcdef";

/// What must never come out of the escape fixture's view.
fn secrets() -> Vec<String> {
    let mut secrets: Vec<String> =
        ["SSN-1", "NOTE-", "330102", "777", "888", "424242", "515151"].iter().map(|s| (*s).to_owned()).collect();
    secrets.extend(["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九"].iter().map(|s| (*s).to_owned()));
    secrets.push(String::from_utf8(KEY.to_vec()).unwrap());
    secrets.push(KEY.iter().map(|b| format!("{b:02x}")).collect());
    secrets
}

struct Fixture {
    engine: QueryEngine,
    location: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    let source = dir.path().join("people.csv");
    std::fs::write(&source, PEOPLE).unwrap();
    let location = "resources/people/versions/v1/data.parquet".to_owned();
    let output = objects.join(&location);
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let options = IngestOptions {
        schema: Some(
            gongshu_ingest::DeclaredSchema::from_json(
                r#"{"fields": [{"name": "name", "type": "string"}, {"name": "ssn", "type": "string"},
                    {"name": "district", "type": "string"}, {"name": "age", "type": "integer"},
                    {"name": "income", "type": "integer"}, {"name": "note", "type": "string"}]}"#,
            )
            .unwrap(),
        ),
        ..IngestOptions::default()
    };
    ingest(&source, &options, &output, &|_| {}).unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(&objects).unwrap());
    Fixture { engine: QueryEngine::new(store, QueryLimits::default()), location, _dir: dir }
}

fn shaped(f: &Fixture, name: &str, shape: Shape) -> Table {
    Table { name: name.into(), location: f.location.clone(), shape: Some(shape) }
}

fn escape_views(f: &Fixture) -> Vec<Table> {
    let filter = vec![RowCondition { column: "district".into(), op: RowOp::Eq, values: vec!["330106".into()] }];
    let people = Shape {
        columns: vec!["name".into(), "district".into(), "age".into(), "income".into()],
        masks: BTreeMap::from([("name".to_owned(), Mask::Hash)]),
        row_filter: filter.clone(),
        hash_key: KEY.to_vec(),
    };
    let other =
        Shape { columns: vec!["age".into()], masks: BTreeMap::new(), row_filter: filter, hash_key: KEY.to_vec() };
    vec![shaped(f, "people", people), shaped(f, "other", other)]
}

fn leak(text: &str) -> Option<String> {
    secrets().into_iter().find(|secret| text.contains(secret.as_str()))
}

fn result_text(result: &SqlResult) -> String {
    records_json(&result.batches).unwrap().to_string()
}

#[tokio::test]
async fn no_escape_attempt_gets_past_the_view() {
    let f = fixture();
    let tables = escape_views(&f);
    let rules = SandboxRules { min_group_size: 3, allow_joins: false, epsilon: None };
    let text = include_str!("escapes.txt");
    let blocks = text
        .split("\n\n")
        .map(|block| block.lines().filter(|line| !line.starts_with('#')).collect::<Vec<_>>())
        .filter(|lines| !lines.is_empty());
    let mut checked = 0;
    for lines in blocks {
        let (mode, sql) = (lines[0], lines[1..].join("\n"));
        assert!(leak(&sql).is_none(), "the statement itself holds a secret, so the check would mean nothing: {sql}");
        let (sandbox, must_refuse) = match mode {
            "query" => (false, false),
            "query refused" => (false, true),
            "sandbox" => (true, false),
            "sandbox refused" => (true, true),
            other => panic!("unknown mode line `{other}`"),
        };
        let result = if sandbox {
            f.engine.aggregate_sql(&tables, &sql, rules).await
        } else {
            f.engine.sql(&tables, &sql).await
        };
        match result {
            Ok(result) => {
                assert!(!must_refuse, "must be refused, but ran: {sql}\n{}", result_text(&result));
                let output = result_text(&result);
                assert_eq!(leak(&output), None, "{sql} leaked: {output}");
            }
            Err(error) => {
                let message = format!("{error} {}", error.message_zh());
                assert_eq!(leak(&message), None, "{sql} leaked through its error: {message}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} statements were read from escapes.txt");
}

#[tokio::test]
async fn the_sandbox_suppresses_groups_under_the_minimum() {
    let f = fixture();
    let tables = escape_views(&f);
    let rules = SandboxRules { min_group_size: 2, allow_joins: false, epsilon: None };
    let sql = "SELECT age >= 50 AS older, COUNT(*) AS n, SUM(income) AS total FROM people GROUP BY age >= 50";
    let result = f.engine.aggregate_sql(&tables, sql, rules).await.unwrap();
    let mut rows = records_json(&result.batches).unwrap().as_array().unwrap().clone();
    rows.sort_by_key(|row| row["older"].as_bool());
    assert_eq!(
        Value::Array(rows),
        json!([{"older": false, "n": 3, "total": 2600}, {"older": true, "n": 2, "total": 2400}])
    );
    let strict = SandboxRules { min_group_size: 3, allow_joins: false, epsilon: None };
    let result = f.engine.aggregate_sql(&tables, sql, strict).await.unwrap();
    assert_eq!(records_json(&result.batches).unwrap(), json!([{"older": false, "n": 3, "total": 2600}]));
}

/// One row of the fixture, as the test knows it.
struct Person {
    name: &'static str,
    ssn: &'static str,
    district: &'static str,
    age: i64,
    income: i64,
    note: &'static str,
}

const ROWS: &[Person] = &[
    Person { name: "张三", ssn: "SSN-110", district: "330106", age: 34, income: 1200, note: "NOTE-a" },
    Person { name: "李四", ssn: "SSN-111", district: "330106", age: 39, income: 800, note: "NOTE-b" },
    Person { name: "王五", ssn: "SSN-112", district: "330106", age: 54, income: 1500, note: "NOTE-c" },
    Person { name: "赵六", ssn: "SSN-113", district: "330106", age: 24, income: 600, note: "NOTE-d" },
    Person { name: "钱七", ssn: "SSN-114", district: "330106", age: 56, income: 900, note: "NOTE-e" },
    Person { name: "孙八", ssn: "SSN-115", district: "330102", age: 777, income: 424242, note: "NOTE-f" },
    Person { name: "周九", ssn: "SSN-116", district: "330102", age: 888, income: 515151, note: "NOTE-g" },
];

const COLUMNS: &[&str] = &["name", "ssn", "district", "age", "income", "note"];

impl Person {
    fn value(&self, column: &str) -> Value {
        match column {
            "name" => json!(self.name),
            "ssn" => json!(self.ssn),
            "district" => json!(self.district),
            "age" => json!(self.age),
            "income" => json!(self.income),
            "note" => json!(self.note),
            other => panic!("no column {other}"),
        }
    }

    fn meets(&self, condition: &RowCondition) -> bool {
        let value = self.value(&condition.column);
        let text = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
        let number = value.as_i64();
        let first = &condition.values[0];
        match condition.op {
            RowOp::Eq => &text == first,
            RowOp::In => condition.values.contains(&text),
            RowOp::Prefix => text.starts_with(first.as_str()),
            RowOp::Gte => number.map_or(text >= *first, |n| n >= first.parse().unwrap()),
            RowOp::Lte => number.map_or(text <= *first, |n| n <= first.parse().unwrap()),
        }
    }

    /// This row as the grant's view shows it.
    fn shaped(&self, shape: &Shape) -> BTreeMap<String, Value> {
        shape
            .columns
            .iter()
            .map(|column| {
                let value = self.value(column);
                let shown = match shape.masks.get(column) {
                    None => value,
                    Some(Mask::Null) => Value::Null,
                    Some(mask) => {
                        let text = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                        json!(apply_mask(*mask, &shape.hash_key, &text))
                    }
                };
                (column.clone(), shown)
            })
            .collect()
    }
}

fn mask_for(column: &'static str) -> BoxedStrategy<Option<Mask>> {
    let mut masks = vec![
        Just(None).boxed(),
        Just(Some(Mask::Hash)).boxed(),
        Just(Some(Mask::Null)).boxed(),
        (1u8..4).prop_map(|n| Some(Mask::KeepFirst { n })).boxed(),
        (1u8..4).prop_map(|n| Some(Mask::KeepLast { n })).boxed(),
    ];
    if column == "district" {
        masks.push(prop_oneof![Just(2u8), Just(4u8)].prop_map(|digits| Some(Mask::RegionPrefix { digits })).boxed());
    }
    proptest::strategy::Union::new(masks).boxed()
}

fn condition() -> impl Strategy<Value = RowCondition> {
    prop_oneof![
        prop_oneof![Just("330106"), Just("330102")].prop_map(|d| RowCondition {
            column: "district".into(),
            op: RowOp::Eq,
            values: vec![d.into()]
        }),
        (20i64..60).prop_map(|age| RowCondition {
            column: "age".into(),
            op: RowOp::Gte,
            values: vec![age.to_string()]
        }),
        (20i64..900).prop_map(|age| RowCondition {
            column: "age".into(),
            op: RowOp::Lte,
            values: vec![age.to_string()]
        }),
        Just(RowCondition { column: "ssn".into(), op: RowOp::Prefix, values: vec!["SSN-11".into()] }),
        proptest::sample::subsequence(vec!["张三", "王五", "孙八", "周九"], 1..3).prop_map(|names| RowCondition {
            column: "name".into(),
            op: RowOp::In,
            values: names.into_iter().map(str::to_owned).collect()
        }),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let columns = proptest::sample::subsequence(COLUMNS.to_vec(), 1..=COLUMNS.len());
    let masks: Vec<_> = COLUMNS.iter().map(|c| mask_for(c)).collect();
    (columns, masks, proptest::collection::vec(condition(), 0..3), proptest::collection::vec(any::<u8>(), 8..16))
        .prop_map(|(columns, masks, row_filter, hash_key)| Shape {
            masks: COLUMNS
                .iter()
                .zip(masks)
                .filter(|(column, _)| columns.contains(*column))
                .filter_map(|(column, mask)| mask.map(|mask| ((*column).to_owned(), mask)))
                .collect(),
            columns: columns.into_iter().map(str::to_owned).collect(),
            row_filter,
            hash_key,
        })
}

/// A query over every column, granted or not, with a predicate on any.
fn query() -> impl Strategy<Value = (Vec<&'static str>, Option<(&'static str, &'static str)>)> {
    let predicates = prop_oneof![
        Just(None),
        Just(Some(("age", "age > 30"))),
        Just(Some(("district", "district = '330102'"))),
        Just(Some(("ssn", "ssn LIKE 'SSN%'"))),
        Just(Some(("note", "note IS NOT NULL"))),
        Just(Some(("income", "income > 100000"))),
    ];
    (proptest::sample::subsequence(COLUMNS.to_vec(), 1..=3), predicates)
}

fn multiset(rows: impl IntoIterator<Item = BTreeMap<String, Value>>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(serde_json::to_string(&row).unwrap()).or_insert(0) += 1;
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random grants × random queries: a query naming a column outside the
    /// grant fails like one naming no column at all; every other answer
    /// holds only rows of the grant's view, with its columns and its masks.
    #[test]
    fn a_shaped_view_never_returns_more_than_its_grant(shape in shape(), (columns, predicate) in query()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let f = fixture();
        let table = shaped(&f, "t", shape.clone());
        let view: Vec<BTreeMap<String, Value>> = ROWS
            .iter()
            .filter(|person| shape.row_filter.iter().all(|condition| person.meets(condition)))
            .map(|person| person.shaped(&shape))
            .collect();

        let all = runtime.block_on(f.engine.sql(std::slice::from_ref(&table), "SELECT * FROM t")).unwrap();
        let rows: Vec<BTreeMap<String, Value>> =
            serde_json::from_value(records_json(&all.batches).unwrap()).unwrap();
        prop_assert_eq!(multiset(rows), multiset(view.clone()));

        let mut sql = format!("SELECT {} FROM t", columns.join(", "));
        if let Some((_, predicate)) = predicate {
            sql.push_str(" WHERE ");
            sql.push_str(predicate);
        }
        let referenced: BTreeSet<&str> = columns.iter().copied().chain(predicate.map(|(column, _)| column)).collect();
        let hidden = referenced.iter().any(|column| !shape.columns.iter().any(|c| c == column));
        match runtime.block_on(f.engine.sql(std::slice::from_ref(&table), &sql)) {
            // Comparing a masked column (text now) with a number may fail to cast;
            // any other failure must come from a column outside the grant.
            Err(_) if !hidden && referenced.iter().any(|column| shape.masks.contains_key(*column)) => {}
            Err(error) => {
                prop_assert!(hidden, "{sql} failed though every column is granted: {error}");
                let message = error.to_string();
                let absent = runtime
                    .block_on(f.engine.sql(std::slice::from_ref(&table), "SELECT no_such_column FROM t"))
                    .unwrap_err()
                    .to_string();
                // The same kind of error as for a column that does not exist.
                prop_assert_eq!(message.split(':').next(), absent.split(':').next());
            }
            Ok(result) => {
                prop_assert!(!hidden, "{sql} read a column outside the grant");
                let rows: Vec<BTreeMap<String, Value>> =
                    serde_json::from_value(records_json(&result.batches).unwrap()).unwrap();
                let allowed = multiset(view.iter().map(|row| {
                    columns.iter().map(|c| ((*c).to_owned(), row[*c].clone())).collect::<BTreeMap<_, _>>()
                }));
                for (row, count) in multiset(rows) {
                    prop_assert!(allowed.get(&row).is_some_and(|n| *n >= count), "{sql} returned {row}, not in the view");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_query_cannot_fail_on_a_row_outside_the_grant() {
    let f = fixture();
    let tables = escape_views(&f);
    // Only the rows of district 330102 (outside the grant) have age 777; if the
    // query's filter reached them, it would divide by zero and the error would
    // say they exist.
    let sql = "SELECT COUNT(*) AS n FROM people WHERE 1 / (CASE WHEN age = 777 THEN 0 ELSE 1 END) = 1";
    let result = f.engine.sql(&tables, sql).await.unwrap();
    assert_eq!(records_json(&result.batches).unwrap(), json!([{"n": 5}]));
}

#[tokio::test]
async fn under_a_privacy_budget_small_groups_never_come_out() {
    let f = fixture();
    let tables = escape_views(&f);
    let rules = SandboxRules { min_group_size: 3, allow_joins: false, epsilon: Some(0.1) };
    for _ in 0..30 {
        let by_name =
            f.engine.aggregate_sql(&tables, "SELECT name, COUNT(*) AS n FROM people GROUP BY name", rules).await;
        assert_eq!(records_json(&by_name.unwrap().batches).unwrap(), json!([]), "groups of one are never released");
    }
    let all = f.engine.aggregate_sql(&tables, "SELECT COUNT(*) AS n FROM people", rules).await.unwrap();
    assert_eq!(all.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1, "the group of five is released, noisy");
    let sum = f.engine.aggregate_sql(&tables, "SELECT SUM(income) FROM people", rules).await.unwrap_err();
    assert!(sum.to_string().contains("only COUNT"), "{sum}");
}
