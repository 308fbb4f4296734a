//! The gateway overhead benchmark (issue 5): the same aggregate through
//! the access gateway, as a department reading under its grant, beside the
//! query engine run directly on the same file, in one run, interleaved.
//!
//! `cargo run --release -p gongshu-app --example gateway_overhead -- [ROWS] [RUNS]`
//! (`bash bench/gateway` does this). It loads the demo, adds a version of
//! ROWS synthetic rows (default 2,000,000) to the smoking case-control data
//! the statistics bureau holds a grant on, and times:
//!
//! * `engine, whole file`: `QueryEngine::sql` on the unshaped table;
//! * `engine, shaped view`: the same with the grant's shape (its row filter);
//! * `gateway, SQL`: `App::sql` as the grantee, which also loads the
//!   entry, the grants and the version, decides, hashes the result and
//!   writes the usage event (SQLite) before answering;
//! * `engine, sandbox` and `gateway, sandbox`: the aggregate-only path.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gongshu_app::testing::DemoApp;
use gongshu_app::{LoadOptions, NewToken};
use gongshu_query::{QueryEngine, QueryLimits, SandboxRules, Shape, Table};

const CITIES: [&str; 8] = ["Beijing", "Shanghai", "Shenyang", "Nanjng", "Harbin", "Zhengzhou", "Taiyuan", "Nanchang"];

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn p90(times: &mut [Duration]) -> Duration {
    times.sort();
    times[(times.len() * 9 / 10).min(times.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let demo = DemoApp::new().await;
    let app = &demo.app;
    let login = |name: &'static str| async move {
        let token = NewToken { name: "bench".into(), expires_in_days: None };
        let issued = app.login(name, gongshu_app::demo::DEMO_PASSWORD, token).await.expect("demo user");
        app.authenticate(&issued.secret).await.expect("token")
    };
    let health = login("wj-editor").await;
    let statistics = login("tj-editor").await;
    let grant = app.grants(&statistics, None).await.expect("grants").remove(0).grant;
    let granted = grant.resources[0].clone();
    let resource = granted.resource_id.clone();

    // A synthetic version of the same columns, ROWS rows.
    let dir = tempfile::tempdir().expect("temporary directory");
    let csv = dir.path().join("smoking.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
    writeln!(out, "Location,smoking_yes_cancer_yes,smoking_yes_cancer_no,smoking_no_cancer_yes,smoking_no_cancer_no")
        .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let city = CITIES[(x % 8) as usize];
        writeln!(out, "{city},{},{},{},{}", x % 1000, (x >> 10) % 1000, (x >> 20) % 500, (x >> 30) % 900).unwrap();
    }
    drop(out);
    let started = Instant::now();
    let version = app
        .load_version(&health, &resource, &csv, "smoking.csv", &LoadOptions::default(), Arc::new(|_| {}))
        .await
        .expect("the synthetic version loads");
    println!(
        "loaded {} rows as version {} in {:.1} s",
        version.row_count,
        version.version,
        started.elapsed().as_secs_f64()
    );

    let engine = QueryEngine::new(demo.data.object_store(), QueryLimits::default());
    let whole = Table { name: resource.clone(), location: version.location.clone(), shape: None };
    let shaped = Table {
        shape: Some(Shape {
            columns: granted.columns.clone(),
            masks: granted.masks.clone(),
            row_filter: granted.row_filter.clone(),
            hash_key: b"bench".to_vec(),
        }),
        ..whole.clone()
    };
    let sql = format!(
        "SELECT \"Location\", COUNT(*) AS n, SUM(smoking_yes_cancer_yes) AS cases, AVG(smoking_no_cancer_no) AS controls \
         FROM \"{resource}\" GROUP BY \"Location\" ORDER BY \"Location\""
    );
    let rules = SandboxRules { min_group_size: u64::from(grant.min_group_size), allow_joins: false, epsilon: None };

    let labels = ["engine, whole file", "engine, shaped view", "gateway, SQL", "engine, sandbox", "gateway, sandbox"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); labels.len()];
    for run in 0..runs + 3 {
        let mut timed = Vec::new();
        let t = Instant::now();
        engine.sql(std::slice::from_ref(&whole), &sql).await.expect("engine");
        timed.push(t.elapsed());
        let t = Instant::now();
        engine.sql(std::slice::from_ref(&shaped), &sql).await.expect("engine, shaped");
        timed.push(t.elapsed());
        let t = Instant::now();
        app.sql(&statistics, &sql).await.expect("gateway");
        timed.push(t.elapsed());
        let t = Instant::now();
        engine.aggregate_sql(std::slice::from_ref(&shaped), &sql, rules).await.expect("engine, sandbox");
        timed.push(t.elapsed());
        let t = Instant::now();
        app.sandbox_sql(&statistics, &sql, Some(&grant.id), None).await.expect("gateway, sandbox");
        timed.push(t.elapsed());
        if run >= 3 {
            for (all, one) in times.iter_mut().zip(timed) {
                all.push(one);
            }
        }
    }
    let medians: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    println!("\n{rows} rows, {runs} runs each, interleaved; medians and p90 in ms\n");
    println!("| path | median | p90 |");
    println!("|---|---|---|");
    for (label, t) in labels.iter().zip(times.iter_mut()) {
        println!("| {label} | {:.2} | {:.2} |", median(t).as_secs_f64() * 1e3, p90(t).as_secs_f64() * 1e3);
    }
    let ratio = |a: usize, b: usize| medians[a].as_secs_f64() / medians[b].as_secs_f64();
    println!();
    println!("gateway SQL / engine on the shaped view:   {:.3} ({:+.1} %)", ratio(2, 1), (ratio(2, 1) - 1.0) * 100.0);
    println!("gateway SQL / engine on the whole file:    {:.3}", ratio(2, 0));
    println!("gateway sandbox / engine sandbox:          {:.3} ({:+.1} %)", ratio(4, 3), (ratio(4, 3) - 1.0) * 100.0);
}
