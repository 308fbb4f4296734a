"""Catalog search: gongshu over HTTP beside SQLite FTS5 (trigram) in-process.

    python3 bench/search.py --entries 100000 --gongshu target/release/gongshu

Generates a deterministic synthetic catalog (district x year x topic, with
abstracts that mention other topics in passing, as real abstracts do),
writes it as published entries into a gongshu data directory created by
`serve --demo`, lets `serve` build its search index at start (timed), and
runs the same queries through `/api/v1/search` (page of 20 with the total,
facet counts and highlights) and through an FTS5 table with the trigram
tokenizer (page of 20 ranked by bm25 where MATCH applies, plus the total).
Reports p50/p99 latency and precision@10 against the generator's topics.
A benchmark, not a test: no figure here fails anything.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

DISTRICTS = ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区", "桐庐县", "淳安县", "建德市"]

# topic: (theme, Chinese titles, English title, abstract, keywords, items)
TOPICS = {
    "population": ("人口", ["常住人口统计", "第七次人口普查汇总数据", "户籍人口与流动人口登记"], "population census and residents",
                   "按街道汇总的常住人口、户籍人口、性别和年龄构成。", ["人口", "普查"], ["常住人口", "户数", "性别比"]),
    "enterprise": ("市场监管", ["企业登记信息", "市场主体登记", "个体工商户登记信息"], "enterprise registrations",
                   "市场主体的名称、统一社会信用代码、登记机关和成立日期。", ["工商", "营业执照"], ["企业名称", "统一社会信用代码", "登记机关"]),
    "air": ("生态环境", ["空气质量日报", "空气质量监测站点小时数据", "环境空气质量指数"], "daily air quality",
            "各监测站点的 PM2.5、PM10、臭氧和空气质量指数，站点覆盖人口密集区。", ["空气", "AQI"], ["站点名称", "PM2.5", "空气质量指数"]),
    "bus": ("交通运输", ["公交线路与站点", "公交客流统计", "公交车辆实时位置"], "bus routes and stops",
            "公交线路走向、站点位置、首末班时间，以及企业运营单位。", ["公交", "出行"], ["线路名称", "站点", "首班时间"]),
    "health": ("医疗卫生", ["医疗机构名录", "医院床位与卫技人员", "基层医疗卫生机构"], "hospitals and clinics",
               "医院、社区卫生服务中心的名称、地址、等级和床位数。", ["医院", "医疗"], ["机构名称", "等级", "床位数"]),
    "school": ("教育文化", ["中小学校名录", "学校招生计划", "幼儿园名录"], "schools",
               "学校名称、办学性质、地址和学段，含新登记的民办学校。", ["学校", "教育"], ["学校名称", "学段", "办学性质"]),
    "water": ("生态环境", ["地表水水质监测", "饮用水水源地水质", "河道断面水质"], "surface water quality",
              "监测断面的水质类别、溶解氧和氨氮，与空气质量同步发布。", ["水质", "河道"], ["断面名称", "水质类别", "氨氮"]),
    "permits": ("城乡建设", ["建筑施工许可", "商品房预售许可", "建设工程规划许可"], "construction permits",
                "许可证号、建设单位、施工企业和项目地址。", ["许可", "建设"], ["许可证号", "建设单位", "项目地址"]),
}

# query -> the topics (and district) a relevant entry has
QUERIES = [
    ("人口", {"population"}, None),
    ("人口普查", {"population"}, None),
    ("企业登记", {"enterprise"}, None),
    ("空气质量", {"air"}, None),
    ("公交", {"bus"}, None),
    ("医院", {"health"}, None),
    ("学校", {"school"}, None),
    ("水质", {"water"}, None),
    ("西湖区 空气质量", {"air"}, "西湖区"),
    ("population census", {"population"}, None),
    ("enterprise registration", {"enterprise"}, None),
    ("air quality", {"air"}, None),
]


def catalog(entries, seed=2026):
    rng = random.Random(seed)
    topics = list(TOPICS)
    for n in range(entries):
        topic = topics[n % len(topics)]
        theme, titles, title_en, abstract, keywords, items = TOPICS[topic]
        district = rng.choice(DISTRICTS)
        year = rng.randrange(2015, 2026)
        title = f"{district}{year}年{rng.choice(titles)}"
        yield {
            "n": n,
            "topic": topic,
            "district": district,
            "theme": theme,
            "name_zh": title,
            "name_en": f"{title_en}, {year} (No. {n})",
            "abstract_zh": f"{district}{year}年{abstract}",
            "keywords": keywords + [district],
            "items": items,
        }


def write_catalog(db_path, entries):
    """Writes the entries as published rows, copying a demo row's format."""
    conn = sqlite3.connect(db_path)
    # The city's own entries and departments, not the demo's harvested ones (they have no data items).
    template_row = conn.execute(
        "SELECT provider_org_id, content, created_at FROM resource WHERE state = 'published' AND provider_org_id IN "
        "(SELECT id FROM organization WHERE kind <> 'portal') ORDER BY id LIMIT 1"
    ).fetchone()
    orgs = [r[0] for r in conn.execute("SELECT id FROM organization WHERE kind <> 'portal' ORDER BY id")]
    template = json.loads(template_row[1])
    item_template = template["draft"]["items"][0]
    truth = {}
    rows = []
    for e in catalog(entries):
        rid = str(uuid.UUID(int=e["n"] + 1))
        draft = dict(template["draft"])
        draft.update(
            name_zh=e["name_zh"],
            name_en=e["name_en"],
            abstract_zh=e["abstract_zh"],
            abstract_en=None,
            theme=e["theme"],
            keywords=e["keywords"],
            items=[dict(item_template, name=f"c{i}", title=t) for i, t in enumerate(e["items"])],
        )
        content = dict(template, draft=draft)
        stamp = f"2026-{1 + e['n'] % 12:02d}-{1 + e['n'] % 28:02d}T08:00:00.{e['n'] % 1000000:06d}Z"
        search_text = "\n".join([e["name_zh"], e["abstract_zh"], e["theme"], e["name_en"].lower(), *e["keywords"], *e["items"]])
        rows.append((rid, orgs[e["n"] % len(orgs)], e["name_zh"], e["name_en"], json.dumps(content, ensure_ascii=False),
                     stamp, stamp, stamp, search_text))
        truth[rid] = e
    conn.executemany(
        "INSERT INTO resource (id, provider_org_id, state, registration_code, name_zh, name_en, level, share_kind, "
        "open_kind, content, created_at, updated_at, published_at, row_version, search_text) "
        "VALUES (?, ?, 'published', NULL, ?, ?, 'general-1', 'unconditional', 'unconditional', ?, ?, ?, ?, 1, ?)",
        rows,
    )
    conn.commit()
    conn.close()
    return truth


def fts_table(truth):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, title, title_en, abstract, keywords, items, tokenize='trigram')")
    conn.executemany(
        "INSERT INTO fts VALUES (?, ?, ?, ?, ?, ?)",
        [(rid, e["name_zh"], e["name_en"], e["abstract_zh"], " ".join(e["keywords"]), " ".join(e["items"]))
         for rid, e in truth.items()],
    )
    conn.commit()
    return conn


def fts_search(conn, query):
    """The best a trigram index does: MATCH (ranked by bm25) for words of three
    or more characters, a LIKE scan for shorter ones, which trigrams cannot index."""
    words = query.split()
    long_words = [w for w in words if len(w) >= 3]
    short_words = [w for w in words if len(w) < 3]
    where, params = [], []
    if long_words:
        where.append("fts MATCH ?")
        params.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long_words))
    for w in short_words:
        where.append("(title || ' ' || title_en || ' ' || abstract || ' ' || keywords || ' ' || items) LIKE ?")
        params.append(f"%{w}%")
    clause = " AND ".join(where)
    order = "ORDER BY bm25(fts)" if long_words else ""
    ids = [r[0] for r in conn.execute(f"SELECT id FROM fts WHERE {clause} {order} LIMIT 20", params)]
    total = conn.execute(f"SELECT count(*) FROM fts WHERE {clause}", params).fetchone()[0]
    return ids, total


def relevant(entry, topics, district):
    return entry["topic"] in topics and (district is None or entry["district"] == district)


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--gongshu", required=True)
    parser.add_argument("--runs", type=int, default=50, help="requests per query")
    args = parser.parse_args()
    binary = os.path.abspath(args.gongshu)
    work = tempfile.mkdtemp(prefix="gongshu-search-bench-")
    try:
        data = os.path.join(work, "data")
        port = 18000 + os.getpid() % 1000
        listen = f"127.0.0.1:{port}"

        def serve():
            proc = subprocess.Popen([binary, "--data-dir", data, "serve", "--demo", "--listen", listen],
                                    stderr=subprocess.PIPE, text=True)
            log = []
            for line in proc.stderr:
                log.append(line)
                if "gongshu listening on" in line:
                    return proc, log
            sys.exit("gongshu did not start:\n" + "".join(log[-20:]))

        print(f"demo data directory, then {args.entries:,} synthetic published entries ...", flush=True)
        proc, _ = serve()
        proc.terminate()
        proc.wait()
        truth = write_catalog(os.path.join(data, "gongshu.db"), args.entries)
        shutil.rmtree(os.path.join(data, "search"))

        start = time.perf_counter()
        proc, log = serve()
        build_s = time.perf_counter() - start
        index_line = next((l.strip() for l in log if l.startswith("search index:")), "")
        print(f"gongshu start with an index build: {build_s:.1f} s ({index_line})")

        start = time.perf_counter()
        fts = fts_table(truth)
        print(f"FTS5 trigram table build: {time.perf_counter() - start:.1f} s")

        conn = http.client.HTTPConnection("127.0.0.1", port)

        def gongshu(query):
            path = "/api/v1/search?" + urllib.parse.urlencode({"q": query, "limit": 20})
            conn.request("GET", path)
            response = conn.getresponse()
            body = json.loads(response.read())
            return [item["resource"]["id"] for item in body["items"]], body["total"]

        results = {"entries": args.entries, "index_build_s": round(build_s, 2), "queries": []}
        print(f"\n{'query':<26}{'gongshu p50/p99 ms':>20}{'FTS5 p50/p99 ms':>18}{'found g/f':>16}{'P@10 g/f':>14}")
        all_g, all_f, prec_g, prec_f = [], [], [], []
        for query, topics, district in QUERIES:
            row = {"query": query}
            for name, engine, samples_all, precisions in (("gongshu", gongshu, all_g, prec_g),
                                                          ("fts5", lambda q: fts_search(fts, q), all_f, prec_f)):
                ids, total = engine(query)  # warm-up
                samples = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    engine(query)
                    samples.append((time.perf_counter() - t) * 1000)
                samples_all.extend(samples)
                top = ids[:10]
                precision = sum(relevant(truth[i], topics, district) for i in top if i in truth) / 10
                precisions.append(precision)
                row[name] = {"p50_ms": round(statistics.median(samples), 2), "p99_ms": round(percentile(samples, 99), 2),
                             "total": total, "precision_at_10": precision}
            results["queries"].append(row)
            g, f = row["gongshu"], row["fts5"]
            print(f"{query:<26}{g['p50_ms']:>9.1f} /{g['p99_ms']:>7.1f}{f['p50_ms']:>9.1f} /{f['p99_ms']:>6.1f}"
                  f"{g['total']:>8}/{f['total']:<7}{g['precision_at_10']:>7.1f}/{f['precision_at_10']:.1f}")
        summary = {
            "gongshu_p50_ms": round(statistics.median(all_g), 2),
            "gongshu_p99_ms": round(percentile(all_g, 99), 2),
            "fts5_p50_ms": round(statistics.median(all_f), 2),
            "fts5_p99_ms": round(percentile(all_f, 99), 2),
            "gongshu_mean_precision_at_10": round(statistics.mean(prec_g), 3),
            "fts5_mean_precision_at_10": round(statistics.mean(prec_f), 3),
        }
        results["summary"] = summary
        print(f"\nall queries: gongshu p50 {summary['gongshu_p50_ms']} ms, p99 {summary['gongshu_p99_ms']} ms (HTTP, "
              f"with total, facets and highlights); FTS5 p50 {summary['fts5_p50_ms']} ms, p99 {summary['fts5_p99_ms']} ms "
              f"(in-process)")
        print(f"mean precision@10: gongshu {summary['gongshu_mean_precision_at_10']}, "
              f"FTS5 trigram {summary['fts5_mean_precision_at_10']}")
        out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "bench")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"search-{args.entries}.json"), "w") as f:
            json.dump(results, f, ensure_ascii=False, indent=1)
        proc.terminate()
        proc.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
