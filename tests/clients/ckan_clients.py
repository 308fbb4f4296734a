"""The real CKAN clients against a running gongshu: ckanapi's CLI and
frictionless' CKAN adapter, exactly as their users run them. CI runs this
(.ci/run); it fails on the first thing that does not work. Issue 4.

    python tests/clients/ckan_clients.py --gongshu target/debug/gongshu
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.request
import uuid

from demo_server import check, demo_server


def run(*args, cwd=None):
    # ckanapi's dump starts workers by running `ckanapi` from PATH.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=300, env=env)
    if proc.returncode != 0:
        sys.exit(f"FAILED: {' '.join(args)}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return proc.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gongshu", required=True)
    args = parser.parse_args()
    bindir = os.path.dirname(sys.executable)
    ckanapi = os.path.join(bindir, "ckanapi")
    frictionless = os.path.join(bindir, "frictionless")
    with demo_server(args.gongshu) as (url, work):
        status = json.loads(run(ckanapi, "action", "status_show", "-r", url))
        check(status["ckan_version"].startswith("2."), "ckanapi action status_show")

        found = json.loads(run(ckanapi, "action", "package_search", "q=区划", "rows:2", "-r", url))
        check(found["count"] == 3 and len(found["results"]) == 2, "ckanapi action package_search (POST, JSON body)")
        found_get = json.loads(run(ckanapi, "action", "package_search", "q=区划", "-r", url, "-g"))
        check(found_get["count"] == 3, "ckanapi action package_search -g (GET)")

        out = os.path.join(work, "search.jsonl")
        run(ckanapi, "search", "datasets", "q=区划", "-r", url, "-O", out)
        with open(out) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        check(len(lines) == 3, "ckanapi search datasets terminates with every match once")

        dump = os.path.join(work, "all.jsonl")
        run(ckanapi, "dump", "datasets", "--all", "-r", url, "-O", dump)
        with open(dump) as f:
            datasets = [json.loads(l) for l in f if l.strip()]
        check(len(datasets) == 10, "ckanapi dump datasets --all (five of the city's own, five harvested)")
        weather = next(d for d in datasets if "天气" in d["title"])

        orgs = os.path.join(work, "orgs.jsonl")
        run(ckanapi, "dump", "organizations", "--all", "-r", url, "-O", orgs)
        with open(orgs) as f:
            organizations = [json.loads(l) for l in f if l.strip()]
        check(len(organizations) == 13 and all(o["is_organization"] for o in organizations),
              "ckanapi dump organizations --all")

        with_fields = os.path.join(work, "weather.jsonl")
        run(ckanapi, "dump", "datasets", weather["id"], "-d", "-r", url, "-O", with_fields)
        with open(with_fields) as f:
            record = json.loads(f.readline())
        fields = record["resources"][0].get("datastore_fields") or []
        check(len(fields) == 6, "ckanapi dump datasets -d adds the datastore fields")

        packages = os.path.join(work, "packages")
        run(ckanapi, "dump", "datasets", weather["id"], "-D", packages, "-r", url)
        descriptor = os.path.join(packages, weather["name"], "datapackage.json")
        check(os.path.exists(descriptor), "ckanapi dump datasets -D writes a data package")
        report = json.loads(run(frictionless, "validate", "--json", descriptor))
        check(report["valid"], "frictionless validate accepts the dumped data package")

        script = f"""
import json
from frictionless import Package, Catalog, portals
package = Package(control=portals.CkanControl(baseurl={url!r}, dataset={weather['id']!r}))
catalog = Catalog(control=portals.CkanControl(baseurl={url!r}, num_packages=10))
by_org = Catalog(control=portals.CkanControl(baseurl={url!r}, organization_name={weather['owner_org']!r}))
print(json.dumps({{"resources": len(package.resources), "packages": len(catalog.datasets), "by_org": len(by_org.datasets)}}))
"""
        counts = json.loads(run(sys.executable, "-c", script).strip().splitlines()[-1])
        check(counts["resources"] == 1, "frictionless reads a dataset through its CKAN adapter")
        check(counts["packages"] == 10, "frictionless reads the catalog (q=*:*)")
        check(counts["by_org"] == 1, "frictionless reads one organization's datasets (q=organization:…)")

        writes(ckanapi, url, work, weather)
        harvest(args.gongshu, url, work)


def login(url, username):
    """A token for a demo user, from the native API's sign-in."""
    body = json.dumps({"username": username, "password": "gongshu-demo-2026", "token_name": "ckanapi"}).encode()
    request = urllib.request.Request(f"{url}/api/v1/auth/tokens", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["token"]


def writes(ckanapi, url, work, weather):
    """CKAN's write actions as a department's cataloguer runs them with ckanapi."""
    token = login(url, "qx-editor")
    rain = {
        "name": "rain-gauges",
        "title": "雨量站点",
        "notes": "全市自动雨量站的编号、名称和逐日降水量。",
        "owner_org": weather["owner_org"],
        "groups": weather["groups"],
        "tags": [{"name": "降水"}, {"name": "雨量站"}],
        "resources": [{
            "name": "stations", "url": "http://example.invalid/stations.csv",
            "schema": {"fields": [{"name": "station", "type": "string", "title": "站点编号"},
                                  {"name": "rain_mm", "type": "number", "title": "降水量"}]},
        }],
    }
    # A dump of another portal's dataset, loaded under its own id: every registration field travels in `gongshu`.
    copy_id = str(uuid.uuid4())
    copy = dict(weather, id=copy_id, name=copy_id, title="西雅图逐日天气（副本）")
    incoming = os.path.join(work, "incoming.jsonl")
    with open(incoming, "w") as f:
        for record in (rain, copy):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    loaded = run_stderr(ckanapi, "load", "datasets", "-I", incoming, "-r", url, "-a", token)
    check(loaded.count(" create None ") == 2, "ckanapi load datasets creates both", loaded)
    again = run_stderr(ckanapi, "load", "datasets", "-I", incoming, "-r", url, "-a", token)
    check(again.count(" update None ") == 2,
          "ckanapi load datasets again updates both: the copy found by its id, the new one by its name", again)
    named = json.loads(run(ckanapi, "action", "package_show", "id=rain-gauges", "-r", url, "-a", token))
    check(named["title"] == "雨量站点", "package_show finds a dataset by the name it was created with")

    shown = json.loads(run(ckanapi, "action", "package_show", f"id={copy['id']}", "-r", url, "-a", token))
    check(shown["state"] == "draft" and shown["private"] and shown["title"] == copy["title"],
          "a loaded dataset is a private draft until registered and published")
    check(shown["gongshu"]["items"] == weather["gongshu"]["items"], "the loaded copy keeps its data items")

    found = json.loads(run(ckanapi, "action", "package_search", "q=雨量站点", "include_private:true", "-r", url, "-a", token))
    drafts = [p for p in found["results"] if p["state"] == "draft"]
    check(len(drafts) == 1 and found["results"][0] == drafts[0],
          "package_search include_private shows the caller's drafts first")
    public = json.loads(run(ckanapi, "action", "package_search", "q=雨量站点", "include_private:true", "-r", url))
    check(public["count"] == found["count"] - 1 and all(p["state"] == "active" for p in public["results"]),
          "package_search shows nobody else a draft")
    rain_id = found["results"][0]["id"]
    check([i["name"] for i in found["results"][0]["gongshu"]["items"]] == ["station", "rain_mm"],
          "the Table Schema of the dict's resource describes the data items")

    csv = os.path.join(work, "stations.csv")
    with open(csv, "w") as f:
        f.write("station,rain_mm\nS001,12.5\nS002,0\nS003,3.2\n")
    resource = json.loads(run(ckanapi, "action", "resource_create", f"package_id={rain_id}", "name=stations",
                              f"upload@{csv}", "-r", url, "-a", token))
    check(resource["datastore_active"], "ckanapi action resource_create with upload@file loads a version")
    rows = json.loads(run(ckanapi, "action", "datastore_search", f"resource_id={rain_id}", "-r", url, "-a", token))
    check(rows["total"] == 3 and rows["records"][0]["station"] == "S001", "the uploaded rows are in the datastore")

    patched = json.loads(run(ckanapi, "action", "package_patch", f"id={rain_id}", "title=雨量站点（2026）", "-r", url, "-a", token))
    check(patched["title"] == "雨量站点（2026）" and len(patched["gongshu"]["items"]) == 2, "ckanapi action package_patch")
    run(ckanapi, "action", "package_delete", f"id={rain_id}", "-r", url, "-a", token)
    deleted = json.loads(run(ckanapi, "action", "package_show", f"id={rain_id}", "-r", url, "-a", token))
    check(deleted["state"] == "deleted", "ckanapi action package_delete discards a draft, kept on record")

    admin = login(url, "sjj-admin")
    org = json.loads(run(ckanapi, "action", "organization_create", "name=commerce", "title=杭州市商务局", "-r", url, "-a", admin))
    check(org["title"] == "杭州市商务局", "ckanapi action organization_create (the bureau's administrator)")


def harvest(gongshu, url, work):
    """A second instance harvests the first (区域协作) with the CLI, through its CKAN API and its DCAT catalog."""
    second = [os.path.abspath(gongshu), "--data-dir", os.path.join(work, "second")]
    ckan_source = run(*second, "harvest", "add", "--name-zh", "杭州市公共数据开放平台", "--kind", "ckan",
                      "--url", url, "--region", "330100").strip()
    first = run(*second, "harvest", "run", ckan_source)
    # The first instance lists its own five published datasets and the five it harvested itself; those are left to their origin.
    check("5 listed, 5 new" in first, "gongshu harvest run reads another portal's CKAN API", first)
    dcat_source = run(*second, "harvest", "add", "--name-zh", "杭州市开放目录（DCAT）", "--kind", "dcat",
                      "--url", f"{url}/catalog.ttl", "--region", "330100").strip()
    by_dcat = run(*second, "harvest", "run", dcat_source)
    check("5 listed, 5 new" in by_dcat, "gongshu harvest run reads another portal's DCAT catalog", by_dcat)
    again = run(*second, "harvest", "run", "--all")
    check(again.count("0 new, 0 updated, 5 unchanged") == 2, "a second harvest changes nothing", again)
    listing = run(*second, "harvest", "list")
    check(listing.count("5 entries") == 2, "gongshu harvest list", listing)


def run_stderr(*args):
    """Runs a command that reports on stderr (ckanapi load) and returns that report."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    if proc.returncode != 0:
        sys.exit(f"FAILED: {' '.join(args)}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return proc.stderr


if __name__ == "__main__":
    main()
