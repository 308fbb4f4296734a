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
        check(len(datasets) == 5, "ckanapi dump datasets --all")
        weather = next(d for d in datasets if "天气" in d["title"])

        orgs = os.path.join(work, "orgs.jsonl")
        run(ckanapi, "dump", "organizations", "--all", "-r", url, "-O", orgs)
        with open(orgs) as f:
            organizations = [json.loads(l) for l in f if l.strip()]
        check(len(organizations) == 11 and all(o["is_organization"] for o in organizations),
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
        check(counts["packages"] == 5, "frictionless reads the catalog (q=*:*)")
        check(counts["by_org"] == 1, "frictionless reads one organization's datasets (q=organization:…)")


if __name__ == "__main__":
    main()
