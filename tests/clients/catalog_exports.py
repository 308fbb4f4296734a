"""The machine-readable catalog against the official validators: every
DCAT-AP serialization of the catalog and of a dataset through pyshacl with
the DCAT-AP 3.0.1 shapes (zero violations), and a dataset's
datapackage.json through `frictionless validate`. CI runs this (.ci/run)
with ../shared beside the repository. Issue 4.

    python tests/clients/catalog_exports.py --gongshu target/debug/gongshu \
        --shapes ../shared/validators/dcat-ap-3.0.1/dcat-ap-SHACL.ttl
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.request

import pyshacl
import rdflib

from demo_server import check, demo_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gongshu", required=True)
    parser.add_argument("--shapes", required=True)
    args = parser.parse_args()
    shapes = rdflib.Graph().parse(args.shapes, format="turtle")
    with demo_server(args.gongshu) as (url, work):
        fetch = lambda path: urllib.request.urlopen(url + path, timeout=60).read()
        packages = json.loads(fetch("/api/3/action/package_search?q=*:*&rows=100"))["result"]["results"]
        weather = next(p["id"] for p in packages if "天气" in p["title"])

        for path, parse_format in [("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld"), ("/catalog.rdf", "xml"),
                                   ("/catalog.ttl?page=1", "turtle"),
                                   (f"/datasets/{weather}/dcat.ttl", "turtle"), (f"/datasets/{weather}/dcat.jsonld", "json-ld"),
                                   (f"/datasets/{weather}/dcat.rdf", "xml")]:
            data = rdflib.Graph().parse(data=fetch(path), format=parse_format)
            datasets = len(set(data.subjects(rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/dcat#Dataset"))))
            conforms, _, report = pyshacl.validate(data, shacl_graph=shapes)
            check(datasets >= 1, f"{path} parses as {parse_format} with {datasets} datasets")
            check(conforms, f"{path} conforms to DCAT-AP 3.0.1 (pyshacl)", report)

        descriptor = os.path.join(work, "datapackage.json")
        with open(descriptor, "wb") as f:
            f.write(fetch(f"/datasets/{weather}/datapackage.json"))
        bindir = os.path.dirname(sys.executable)
        proc = subprocess.run([os.path.join(bindir, "frictionless"), "validate", "--json", descriptor],
                              capture_output=True, text=True, timeout=300)
        report = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {"valid": False}
        check(report.get("valid") is True, "frictionless validate accepts the dataset's datapackage.json",
              proc.stdout[-3000:] + proc.stderr[-2000:])


if __name__ == "__main__":
    main()
