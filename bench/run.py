"""Gongshu beside DuckDB and PostgreSQL on the same synthetic table.

    python3 bench/run.py --rows 1000000 --gongshu target/release/gongshu

Measures, in one run on one machine: ingest time and peak memory (gongshu
import vs DuckDB CSV -> Parquet vs PostgreSQL COPY), then five query shapes
(gongshu over HTTP, DuckDB in-process on gongshu's Parquet file, PostgreSQL
with indexes), reporting medians and ratios. Benchmarks are not tests: no
figure here fails anything.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def sh(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def timed_child(args):
    """Runs a command; answers wall seconds and its own peak RSS in MiB."""
    # GNU time reports the measured process's peak alone (getrusage's
    # RUSAGE_CHILDREN would give the largest child so far).
    handle, report = tempfile.mkstemp(suffix=".time")
    os.close(handle)
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report, *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{args[0]} failed: {proc.stderr[-2000:]}")
    with open(report) as f:
        peak_kib = int(f.read().strip().splitlines()[-1])
    os.remove(report)
    return wall, peak_kib / 1024, proc.stdout


def median_ms(fn, runs):
    fn()  # warm-up: caches, connections, page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


class Gongshu:
    def __init__(self, binary, data_dir, port):
        self.binary, self.data_dir, self.base = binary, data_dir, f"http://127.0.0.1:{port}"
        self.port = port
        self.server = None
        self.token = None

    def cli(self, *args, stdin=None):
        return subprocess.run([self.binary, "--data-dir", self.data_dir, *args], input=stdin, check=True,
                              capture_output=True, text=True).stdout.strip()

    def start(self):
        self.server = subprocess.Popen([self.binary, "--data-dir", self.data_dir, "serve", "--listen",
                                        f"127.0.0.1:{self.port}"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("gongshu did not start")

    def stop(self):
        if self.server:
            self.server.terminate()
            self.server.wait()

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=600) as resp:
            return json.loads(resp.read())

    def bootstrap(self):
        org = self.cli("org", "create", "--name-zh", "基准测试部门", "--kind", "department", "--region", "330100")
        self.cli("user", "create", "--username", "bench", "--display-name", "基准", "--role", f"{org}:cataloguer")
        self.token = self.cli("token", "create", "--username", "bench")
        return org

    def create_resource(self, org, name, items):
        body = {"provider_org_id": org, "name_zh": name, "abstract_zh": name, "resource_class": "basic",
                "theme": "基准", "items": items, "share": {"kind": "unconditional"},
                "open": {"kind": "unconditional"}, "update_cycle": "annual"}
        return self.request("POST", "/api/v1/resources", body)["id"]


def item(name, data_type="text"):
    return {"name": name, "title": name, "data_type": data_type, "identifier_kind": "none", "level": "general-1"}


SHAPES = ["point filter + page", "range + sort + page", "full-text", "group-by aggregate", "SQL with a join"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--gongshu", default=os.path.join(REPO, "target/release/gongshu"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--work", default=os.path.join(REPO, "target/bench"))
    args = parser.parse_args()

    import duckdb
    import psycopg

    os.makedirs(args.work, exist_ok=True)
    csv_path = os.path.join(args.work, f"enterprises-{args.rows}.csv")
    regions_path = os.path.join(args.work, "regions.csv")
    if not os.path.exists(csv_path) or not os.path.exists(regions_path):
        # Generated under a temporary name, so an interrupted run never leaves a short table behind.
        sh([sys.executable, os.path.join(HERE, "generate.py"), "--rows", str(args.rows), "--out", csv_path + ".partial",
            "--regions-out", regions_path])
        os.replace(csv_path + ".partial", csv_path)
    csv_mib = os.path.getsize(csv_path) / 2**20
    print(f"table: {args.rows:,} rows, {csv_mib:.0f} MiB of CSV; {os.cpu_count()} cores", flush=True)

    results = {"rows": args.rows, "csv_mib": round(csv_mib, 1), "ingest": {}, "queries": {}}

    # DuckDB: CSV -> Parquet, in a child process so its peak memory is its own.
    duck_parquet = os.path.join(args.work, "duckdb.parquet")
    code = (f"import duckdb; duckdb.connect().execute(\"COPY (SELECT * FROM read_csv('{csv_path}')) "
            f"TO '{duck_parquet}' (FORMAT parquet)\")")
    wall, peak, _ = timed_child([sys.executable, "-c", code])
    results["ingest"]["duckdb"] = {"seconds": round(wall, 2), "peak_mib": round(peak)}
    print(f"ingest  duckdb      {wall:7.2f} s  peak {peak:6.0f} MiB", flush=True)

    # Gongshu: a fresh instance, a resource, `gongshu import`.
    data_dir = os.path.join(args.work, "gongshu-data")
    shutil.rmtree(data_dir, ignore_errors=True)
    g = Gongshu(args.gongshu, data_dir, 18900)
    org = g.bootstrap()
    g.start()
    try:
        enterprises = g.create_resource(org, "企业登记信息（基准）", [item(n) for n in
                                        ["统一社会信用代码", "企业名称", "行政区划代码", "成立日期", "注册资本", "行业门类", "经营状态", "从业人数"]])
        regions = g.create_resource(org, "区划（基准）", [item("行政区划代码"), item("省份")])
        g.cli("import", "--resource", regions, "--as-user", "bench", regions_path)
        wall, peak, _ = timed_child([args.gongshu, "--data-dir", data_dir, "import", "--resource", enterprises,
                                     "--as-user", "bench", csv_path])
        results["ingest"]["gongshu"] = {"seconds": round(wall, 2), "peak_mib": round(peak)}
        print(f"ingest  gongshu     {wall:7.2f} s  peak {peak:6.0f} MiB", flush=True)
        version = g.request("GET", f"/api/v1/resources/{enterprises}/versions")[0]
        region_version = g.request("GET", f"/api/v1/resources/{regions}/versions")[0]
        parquet = os.path.join(data_dir, "objects", version_location(enterprises, version["id"]))
        region_parquet = os.path.join(data_dir, "objects", version_location(regions, region_version["id"]))

        # PostgreSQL: COPY plus the indexes the queries want.
        pg = psycopg.connect(args.postgres, autocommit=True)
        pg.execute("DROP TABLE IF EXISTS bench_enterprises, bench_regions")
        pg.execute("""CREATE TABLE bench_enterprises ("统一社会信用代码" text, "企业名称" text, "行政区划代码" text,
                      "成立日期" date, "注册资本" numeric(20,2), "行业门类" text, "经营状态" text, "从业人数" integer)""")
        pg.execute('CREATE TABLE bench_regions ("行政区划代码" text, "省份" text)')
        start = time.perf_counter()
        with pg.cursor() as cur:
            with open(csv_path, encoding="utf-8") as f, cur.copy("COPY bench_enterprises FROM STDIN (FORMAT csv, HEADER true)") as copy:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            with open(regions_path, encoding="utf-8") as f, cur.copy("COPY bench_regions FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(f.read())
        copy_seconds = time.perf_counter() - start
        start = time.perf_counter()
        pg.execute('CREATE INDEX ON bench_enterprises ("行政区划代码")')
        pg.execute('CREATE INDEX ON bench_enterprises ("注册资本")')
        pg.execute('CREATE INDEX ON bench_enterprises ("成立日期")')
        try:
            pg.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            pg.execute('CREATE INDEX ON bench_enterprises USING gin ("企业名称" gin_trgm_ops)')
            trigram = True
        except psycopg.Error:
            trigram = False
        pg.execute("ANALYZE bench_enterprises")
        index_seconds = time.perf_counter() - start
        results["ingest"]["postgres"] = {"copy_seconds": round(copy_seconds, 2), "index_seconds": round(index_seconds, 2),
                                         "trigram_index": trigram}
        print(f"ingest  postgres    {copy_seconds:7.2f} s COPY + {index_seconds:.2f} s indexes"
              f"{' (with pg_trgm)' if trigram else ' (no pg_trgm)'}", flush=True)

        duck = duckdb.connect()
        duck.execute(f"CREATE VIEW e AS SELECT * FROM read_parquet('{parquet}')")
        duck.execute(f"CREATE VIEW r AS SELECT * FROM read_parquet('{region_parquet}')")

        point = 330105
        e = urllib.parse.quote
        sql_join = (f'SELECT r."省份", count(*) AS n, sum(e."注册资本") AS capital FROM "{enterprises}" e '
                    f'JOIN "{regions}" r ON e."行政区划代码" = r."行政区划代码" GROUP BY r."省份" ORDER BY n DESC')
        gongshu_queries = {
            SHAPES[0]: lambda: g.request("GET", f"/api/v1/resources/{enterprises}/data?{e('行政区划代码')}={point}&_limit=20"),
            SHAPES[1]: lambda: g.request("GET", f"/api/v1/resources/{enterprises}/data?{e('注册资本')}__gte=500000&"
                                                f"{e('注册资本')}__lt=510000&_sort=-{e('成立日期')}&_limit=50"),
            SHAPES[2]: lambda: g.request("GET", f"/api/v1/resources/{enterprises}/data?_q={e('泰瑞科技')}&_limit=20"),
            SHAPES[3]: lambda: g.request("GET", f"/api/v1/resources/{enterprises}/data?_group_by={e('行业门类')}&"
                                                f"_aggregate=count,sum:{e('注册资本')}"),
            SHAPES[4]: lambda: g.request("POST", "/api/v1/sql", {"sql": sql_join}),
        }
        duck_queries = {
            SHAPES[0]: lambda: (duck.execute(f'SELECT count(*) FROM e WHERE "行政区划代码" = {point}').fetchall(),
                                duck.execute(f'SELECT * FROM e WHERE "行政区划代码" = {point} LIMIT 20').fetchall()),
            SHAPES[1]: lambda: (duck.execute('SELECT count(*) FROM e WHERE "注册资本" >= 500000 AND "注册资本" < 510000').fetchall(),
                                duck.execute('SELECT * FROM e WHERE "注册资本" >= 500000 AND "注册资本" < 510000 '
                                             'ORDER BY "成立日期" DESC LIMIT 50').fetchall()),
            SHAPES[2]: lambda: (duck.execute("SELECT count(*) FROM e WHERE contains(企业名称, '泰瑞科技')").fetchall(),
                                duck.execute("SELECT * FROM e WHERE contains(企业名称, '泰瑞科技') LIMIT 20").fetchall()),
            SHAPES[3]: lambda: duck.execute('SELECT "行业门类", count(*), sum("注册资本") FROM e GROUP BY 1').fetchall(),
            SHAPES[4]: lambda: duck.execute('SELECT r."省份", count(*) AS n, sum(e."注册资本") FROM e JOIN r '
                                            'ON e."行政区划代码" = r."行政区划代码" GROUP BY 1 ORDER BY n DESC').fetchall(),
        }

        def pgq(sql):
            return lambda: pg.execute(sql).fetchall()

        pg_queries = {
            SHAPES[0]: lambda: (pgq(f"SELECT count(*) FROM bench_enterprises WHERE \"行政区划代码\" = '{point}'")(),
                                pgq(f"SELECT * FROM bench_enterprises WHERE \"行政区划代码\" = '{point}' LIMIT 20")()),
            SHAPES[1]: lambda: (pgq('SELECT count(*) FROM bench_enterprises WHERE "注册资本" >= 500000 AND "注册资本" < 510000')(),
                                pgq('SELECT * FROM bench_enterprises WHERE "注册资本" >= 500000 AND "注册资本" < 510000 '
                                    'ORDER BY "成立日期" DESC LIMIT 50')()),
            SHAPES[2]: lambda: (pgq("SELECT count(*) FROM bench_enterprises WHERE \"企业名称\" LIKE '%泰瑞科技%'")(),
                                pgq("SELECT * FROM bench_enterprises WHERE \"企业名称\" LIKE '%泰瑞科技%' LIMIT 20")()),
            SHAPES[3]: pgq('SELECT "行业门类", count(*), sum("注册资本") FROM bench_enterprises GROUP BY 1'),
            SHAPES[4]: pgq('SELECT r."省份", count(*) AS n, sum(e."注册资本") FROM bench_enterprises e JOIN bench_regions r '
                           'ON e."行政区划代码" = r."行政区划代码" GROUP BY 1 ORDER BY n DESC'),
        }
        print(f"\n{'query (median of ' + str(args.runs) + ')':<26}{'gongshu':>10}{'duckdb':>10}{'postgres':>10}"
              f"{'g/duck':>9}{'g/pg':>8}", flush=True)
        for shape in SHAPES:
            gm = median_ms(gongshu_queries[shape], args.runs)
            dm = median_ms(duck_queries[shape], args.runs)
            pm = median_ms(pg_queries[shape], args.runs)
            results["queries"][shape] = {"gongshu_ms": round(gm, 1), "duckdb_ms": round(dm, 1), "postgres_ms": round(pm, 1)}
            print(f"{shape:<26}{gm:9.1f}ms{dm:9.1f}ms{pm:9.1f}ms{gm / dm:8.2f}x{gm / pm:7.2f}x", flush=True)
        pg.execute("DROP TABLE IF EXISTS bench_enterprises, bench_regions")
    finally:
        g.stop()
    out = os.path.join(args.work, f"results-{args.rows}.json")
    with open(out, "w") as f:
        json.dump(results, f, ensure_ascii=False, indent=2)
    print(f"\nfigures written to {out}")


def version_location(resource_id, version_id):
    return f"resources/{resource_id}/versions/{version_id}/data.parquet"


if __name__ == "__main__":
    main()
