"""Both backends asked the same requests through the JSON API, their answers compared.

A sample of a corpus (every Nth release) is indexed by the embedded engine and, through
osmem-server (started here) or the cluster at --url, by the OpenSearch backend. Each request
of REQUESTS (words, phrases, OR/NOT, fields, prefixes, misspellings, relative dates, ranges,
chosen and excluded facet values with accents, aliases and any case, year and month, sorts,
pages past the end, sizes, grouping, strict mode, facet lists, export, the feed, documents
and more like this) is sent to an app over each, and what must agree is compared: the
status, the envelope's keys and types, totals, stories, pages, facet values and counts,
notices, errors, also searched and also try, the hits' ids where the order is by date or
all of them fit on the page, the rows of an export and the entries of a feed. Scores and
the order of close results may differ. Exit 1 if anything else does.

    .venv/bin/python scripts/opensearch_parity.py --corpus /tmp/wh/wh-briefings

osmem-server stems with Porter's first algorithm where OpenSearch uses Snowball's English
("use" and "US" meet, "Zelenskyy" and "Zelenskyi"), and places the words copied into
``exact`` from the body over the title's positions (a phrase may match across them): the
requests below leave out such words; --extra asks more (one path and query a line).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REQUESTS = """
/api/search?q=inflation
/api/search?q=climate+change
/api/search?q=%22climate+change%22
/api/search?q=%E2%80%9Cclimate+change%E2%80%9D
/api/search?q=%22build+back+better%22&sort=newest
/api/search?q=ukraine+OR+russia
/api/search?q=ukraine+NOT+russia
/api/search?q=vaccine+AND+NOT+covid
/api/search?q=title:remarks
/api/search?q=title:%22fact+sheet%22&sort=newest
/api/search?q=country:ukraine
/api/search?q=vaccin*
/api/search?q=vacc?ne
/api/search?q=infrastructur~
/api/search?q=presidnet
/api/search?q=infrastucture+bill
/api/search?q=tax&date_from=last+week
/api/search?q=tax&date_from=since+2019
/api/search?q=&date_from=last+year
/api/search?q=tax&date_from=2023-01-01&date_to=2023-06-30
/api/search?q=&date_from=2024&date_to=2024
/api/search?q=&date_from=2025&date_to=2021
/api/search?q=&date_from=2024-02-30
/api/search?q=&date_from=garbage
/api/search?q=&country=Ukraine
/api/search?q=&country=UKRAINE&country=-russia
/api/search?q=&country=UK
/api/search?q=&country=USA&year=2022
/api/search?q=&country=Cote+d%27Ivoire
/api/search?q=&country=cote+d%E2%80%99ivoire
/api/search?q=&country=M%C3%A9xico&country=Canada
/api/search?q=&country=Turkiye
/api/search?q=&country=Burma
/api/search?q=&country=(none)
/api/search?q=&person=antonio+guterres
/api/search?q=&person=-ANT%C3%93NIO+GUTERRES&person=vladimir+putin
/api/search?q=&organisation=north+atlantic+treaty+organization
/api/search?q=&category=Speeches-Remarks
/api/search?q=&year=2021&month=2021-01
/api/search?q=&year=-2021
/api/search?q=&year=abc
/api/search?q=energy&sort=newest
/api/search?q=energy&sort=oldest&size=5&page=3
/api/search?q=&sort=oldest&page=999
/api/search?q=&page=1001&size=10
/api/search?q=&size=100
/api/search?q=&size=101
/api/search?q=&page=0
/api/search?q=&sort=sideways
/api/search?q=energy&group=false
/api/search?q=&group=false&sort=newest&size=50
/api/search?q=&group=maybe
/api/search?q=Note:+the+(president&strict=true
/api/search?q=Note:+the+(president
/api/search?q=the+of+and
/api/search?q=zzzqqqxx
/api/search?q=Zelenskyy&verbatim=true
/api/search?q=nosuchfield:word
/api/facets/country?q=
/api/facets/country?q=&contains=UNITED
/api/facets/person?q=&contains=antonio
/api/facets/person?q=energy&limit=5
/api/facets/month?q=&contains=2021
/api/facets/year?q=
/api/facets/country?q=&limit=abc
/api/facets/nosuch?q=
/api/export?q=energy&format=jsonl
/api/export?q=ukraine&format=csv&sort=oldest
/api/export?q=&format=xml
/search.atom?q=energy
/search.atom?q=&sort=oldest
/api/documents/no/such/id
/api/health
"""

COMPARED = (
    "total",
    "stories",
    "pages",
    "has_next",
    "next",
    "notice",
    "error",
    "range",
    "also_searched",
    "also_try",
    "facets",
    "values",
    "count",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="a folder of releases (read only)")
    parser.add_argument("--every", type=int, default=40, help="sample every Nth file")
    parser.add_argument("--url", default="", help="an OpenSearch cluster (else osmem-server)")
    parser.add_argument("--extra", help="a file of more requests, one path?query a line")
    args = parser.parse_args()

    from osmem_server import OsmemServer

    from searchsvc.indexing import index_paths
    from searchsvc.opensearch import OpenSearchBackend, OpenSearchOptions
    from searchsvc.searching import Engine, SearchRequest
    from searchsvc.web import create_app

    requests = [r for r in REQUESTS.split() if r]
    if args.extra:
        requests += [r.strip() for r in Path(args.extra).read_text().splitlines() if r.strip()]
    work = Path(tempfile.mkdtemp(prefix="os-parity-"))
    server = None if args.url else OsmemServer.start()
    url = args.url or server.url
    alias = f"searchsvc-parity-{int(time.time())}"
    try:
        root = Path(args.corpus)
        files = sorted(p for p in root.rglob("*") if p.is_file())[:: args.every]
        for path in files:
            target = work / "sample" / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
        print(f"sample: {len(files)} files of {root}, every {args.every}th")
        print(f"embedded:   {index_paths(work / 'index', [work / 'sample'], procs=1).summary()}")
        cluster = OpenSearchBackend(OpenSearchOptions(url=url, index=alias, timeout=120))
        print(f"opensearch: {cluster.index([work / 'sample']).summary()}")
        with Engine(work / "index") as engine:
            some = engine.search(SearchRequest(q="", sort="oldest", size=3)).hits
            for hit in some:
                requests += [
                    f"/api/documents/{quote(hit.id)}",
                    f"/api/documents/{quote(hit.id)}/similar",
                ]
        base = {"TESTING": True, "INDEX_DIR": str(work / "index"), "REQUEST_TIMEOUT": 30.0}
        os_settings = {"BACKEND": "opensearch", "OPENSEARCH_URL": url, "OPENSEARCH_INDEX": alias}
        clients = (create_app(base).test_client(), create_app(base | os_settings).test_client())
        differ = 0
        for path in requests:
            found = _differences(*[c.get(path, buffered=True) for c in clients], path)
            differ += bool(found)
            print(("DIFFER " if found else "same   ") + path)
            for line in found:
                print(f"    {line}")
        cluster.client.indices.delete(index=f"{alias}*", ignore_unavailable=True)
        cluster.close()
        print(f"{len(requests)} requests, {len(requests) - differ} alike, {differ} differ")
        return 1 if differ else 0
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(work, ignore_errors=True)


def _differences(ours, theirs, path: str) -> list[str]:
    """What differs between the two answers that must agree."""
    if ours.status_code != theirs.status_code:
        return [f"status {ours.status_code} vs {theirs.status_code}"]
    a, b = ours.get_json(silent=True), theirs.get_json(silent=True)
    if a is None or b is None:
        lines = [x.data.count(b"\n") for x in (ours, theirs)]
        entries = [x.data.count(b"<entry>") for x in (ours, theirs)]
        return [] if lines[0] == lines[1] and entries[0] == entries[1] else [f"{lines}, {entries}"]
    found = [
        f"{k}: {a.get(k)!r:.300} vs {b.get(k)!r:.300}" for k in COMPARED if a.get(k) != b.get(k)
    ]
    found += [f"envelope {w}" for w in _shape_differences(a, b)][:5]
    if "hits" in a and ("sort=" in path or len(a["hits"]) >= (a.get("total") or 0)):
        ids = [[h["id"] for h in x.get("hits", [])] for x in (a, b)]
        if ids[0] != ids[1] if "sort=" in path else sorted(ids[0]) != sorted(ids[1]):
            found.append(f"ids {ids[0][:4]} vs {ids[1][:4]}")
    if "/documents/" in path and not path.endswith("/similar") and a != b:
        found.append(f"document: {[k for k in a if a.get(k) != b.get(k)]}")
    return found


def _shape_differences(a, b, where: str = ""):
    """Keys one answer has and the other has not, and values of another type."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in a or key not in b:
                yield f"{where}.{key} only in {'opensearch' if key not in a else 'embedded'}"
            elif key != "took_ms":
                yield from _shape_differences(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if a and b:
            yield from _shape_differences(a[0], b[0], f"{where}[0]")
    elif a is not None and b is not None and _kind(a) != _kind(b):
        yield f"{where}: {type(a).__name__} vs {type(b).__name__}"


def _kind(value) -> str:
    return (
        "number"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else type(value).__name__
    )


if __name__ == "__main__":
    sys.exit(main())
