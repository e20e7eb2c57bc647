"""Relevance benchmark: searchsvc beside SQLite FTS5 on a BEIR-layout test collection.

    COLLECTION_DIR/corpus.jsonl --Backend.index--> a temporary index
    queries.jsonl (those judged in the qrels) --Backend.search, as typed--> 100 hits each
    the same corpus --FTS5 table (title, text), words OR-ed--> bm25(), 100 hits each
                    (the words as typed, repeats kept; and each word once)
    the runs + qrels --nDCG@10, Recall@100, MAP (as trec_eval computes them)--> a table

Each query goes, as typed, to the default (forgiving) query parser, as a user's would. A
query it could not read as typed is counted twice over: mended (the parser read it as
close to what was meant as it could, and said how) or searched as its plain words only
(the parser's last resort, or, if it refused the query, the bench's). The run file is
TREC format; ``--verify`` checks our nDCG@10 against pytrec_eval or ranx when one of them
is installed. ``--all`` runs every collection of a folder and prints one table.

    python bench/relevance.py ../shared/relevance/scifact [--qrels FILE] [--run FILE]
                              [--json] [--verify]
    python bench/relevance.py --all ../shared/relevance [--verify] [--json]
"""

# ruff: noqa: E402 (imports follow the sys.path fix above them)

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http package for
# everything imported below: search the folder last, after the standard library.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]

import argparse
import json
import math
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from _common import (
    FTS5_TOKENIZE,
    fts5_connect,
    fts5_match,
    latency_ms,
    machine,
    machine_line,
    table,
)

from searchsvc.analysis import WORD_RE
from searchsvc.reading import DocumentError, parse_jsonl_line
from searchsvc.searching import Backend, SearchError, SearchRequest, open_backend
from searchsvc.searching.query import MAX_QUERY_LENGTH

HITS = 100
LONG_QUERY_WORDS = 20
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}
_PARSER_OPERATORS = _OPERATORS - {"TO"}  # what the parser leaves out of its plain words

Ranked = list[tuple[str, float]]  # (docid, score), best first
Qrels = dict[str, dict[str, int]]


@dataclass
class Collection:
    """A BEIR-layout collection: the corpus file, the judged queries and their judgments."""

    name: str
    corpus: Path
    queries: dict[str, str]
    qrels: Qrels


@dataclass
class SystemRun:
    """One system's answers to every query, with how long each took."""

    name: str
    ranked: dict[str, Ranked] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    index_seconds: float = 0.0
    fallbacks: list[str] = field(default_factory=list)  # queries searched as words only
    mended: list[str] = field(default_factory=list)  # queries mended by the parser
    page_seconds: list[float] = field(default_factory=list)  # long queries, a page of 10


# -- reading a collection -------------------------------------------------------------------


def load_collection(folder: Path, qrels_file: Path | None = None) -> Collection:
    """The corpus path, and the queries judged in qrels/test.tsv (or qrels_file)."""
    qrels = read_qrels(qrels_file or folder / "qrels" / "test.tsv")
    texts = read_queries(folder / "queries.jsonl")
    missing = [q for q in qrels if q not in texts]
    if missing:
        raise SystemExit(f"{len(missing)} judged queries are not in queries.jsonl: {missing[:5]}")
    queries = {qid: texts[qid] for qid in qrels}
    return Collection(folder.resolve().name, folder / "corpus.jsonl", queries, qrels)


def read_qrels(path: Path) -> Qrels:
    """query id -> {doc id: grade}; BEIR's 3-column TSV (with header) or TREC's 4 columns."""
    qrels: Qrels = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if len(cols) not in (3, 4) or cols[0] == "query-id":
                continue
            qid, docid, grade = cols if len(cols) == 3 else (cols[0], cols[2], cols[3])
            qrels.setdefault(qid, {})[docid] = int(grade)
    return qrels


def read_queries(path: Path) -> dict[str, str]:
    """query id -> text, from a JSON Lines file of {_id, text}."""
    queries = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                queries[str(record["_id"])] = record["text"]
    return queries


def corpus_rows(corpus: Path):
    """(id, title, text) of every document, read by the project's own JSONL reader."""
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                doc = parse_jsonl_line(line)
            except DocumentError:
                continue  # the indexer skips it too
            yield doc.id, doc.title, doc.body


# -- measures, as trec_eval computes them ------------------------------------------------------


def trec_order(ranked: Ranked) -> Ranked:
    """A run's hits as trec_eval reads them: by score, ties broken by doc id descending."""
    return sorted(ranked, key=lambda h: (h[1], h[0]), reverse=True)


def ndcg(ranked: Ranked, judged: dict[str, int], k: int = 10) -> float:
    """nDCG@k with gain = grade and a log2(rank + 1) discount; ideal from the judgments."""
    dcg = sum(
        judged.get(d, 0) / math.log2(i + 2) for i, (d, _) in enumerate(ranked[:k]) if judged.get(d)
    )
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: Ranked, judged: dict[str, int], k: int = HITS) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {d for d, g in judged.items() if g > 0}
    found = sum(1 for d, _ in ranked[:k] if d in relevant)
    return found / len(relevant) if relevant else 0.0


def average_precision(ranked: Ranked, judged: dict[str, int]) -> float:
    """Precision at each relevant hit, summed over all relevant documents."""
    relevant = {d for d, g in judged.items() if g > 0}
    hits, total = 0, 0.0
    for i, (d, _) in enumerate(ranked, start=1):
        if d in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


def evaluate(run: SystemRun, qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MAP over every judged query (unanswered ones count 0)."""
    per_query = [
        (ndcg(r, judged), recall(r, judged), average_precision(r, judged))
        for qid, judged in qrels.items()
        for r in [trec_order(run.ranked.get(qid, []))]
    ]
    n = len(per_query) or 1
    return {
        "ndcg@10": round(sum(p[0] for p in per_query) / n, 4),
        "recall@100": round(sum(p[1] for p in per_query) / n, 4),
        "map": round(sum(p[2] for p in per_query) / n, 4),
    }


# -- searchsvc ----------------------------------------------------------------------------------


def words_only(text: str) -> str:
    """The query's words with every bit of syntax gone; operators become plain words."""
    words = [w.lower() if w in _OPERATORS else w for w in re.findall(r"\w+", text)]
    out = " ".join(words)
    return out[:MAX_QUERY_LENGTH].rsplit(" ", 1)[0] if len(out) > MAX_QUERY_LENGTH else out


def ask(engine: Backend, text: str) -> tuple[Ranked, str | None]:
    """Search as a user would, with the default parser; a refused query again as its words.

    Returns the hits, and how the query was read if not as typed: "mended" (the parser
    mended it and said how in a notice), "words" (it searched the plain words instead, or
    refused the query and the bench asked its words), None (as typed).
    """
    try:
        result = engine.search(SearchRequest(q=text, size=HITS))
    except SearchError:
        plain = words_only(text)
        if not plain:
            return [], "words"
        result = engine.search(SearchRequest(q=plain, size=HITS))
        return [(h.id, h.score) for h in result.hits], "words"
    return [(h.id, h.score) for h in result.hits], _reading(text, result.notice)


def _reading(text: str, notice: str | None) -> str | None:
    # The parser's last resort says "Searched for <the words>: why"; a mended query's
    # notice quotes the mended text, punctuation and all.
    if notice is None:
        return None
    words = " ".join(w for w in WORD_RE.findall(text) if w not in _PARSER_OPERATORS)
    plain = notice.startswith((f"Searched for {words}:", "Nothing to search for"))
    return "words" if plain else "mended"


def run_searchsvc(collection: Collection, workdir: Path) -> SystemRun:
    """Index the corpus into workdir and run every query through Backend.search."""
    report = open_backend(workdir / "index").index([collection.corpus], rebuild=True)
    run = SystemRun("searchsvc", index_seconds=report.seconds)
    with open_backend(workdir / "index", cache_size=0) as engine:  # every answer computed
        run_queries(run, collection.queries, lambda text: ask(engine, text))
        for text in collection.queries.values():
            if len(text.split()) >= LONG_QUERY_WORDS:
                run.page_seconds.append(time_page(engine, text))
    return run


def time_page(engine: Backend, text: str) -> float:
    """Seconds to answer text as the service answers a search: the first page, snippets
    and facet counts included (the engine's result cache is off)."""
    started = time.perf_counter()
    try:
        engine.search(SearchRequest(q=text))
    except SearchError:
        engine.search(SearchRequest(q=words_only(text)))
    return time.perf_counter() - started


def run_queries(run: SystemRun, queries: dict[str, str], answer: Callable) -> None:
    """Time answer(text) for every query and keep the ranked hits."""
    for qid, text in queries.items():
        started = time.perf_counter()
        ranked, reading = answer(text)
        run.seconds[qid] = time.perf_counter() - started
        run.ranked[qid] = ranked
        if reading == "words":
            run.fallbacks.append(qid)
        elif reading == "mended":
            run.mended.append(qid)


# -- SQLite FTS5 --------------------------------------------------------------------------------


def run_fts5(collection: Collection, workdir: Path) -> tuple[SystemRun, SystemRun]:
    """Load the corpus into an FTS5 table; answer each query's words OR-ed, by bm25().

    Two runs: the words as typed (a repeated word OR-ed again, so bm25() counts it as
    often as the query holds it), and each word once.
    """
    conn = fts5_connect(str(workdir / "fts5.db"))
    started = time.perf_counter()
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(docid UNINDEXED, title, text, "
        f"tokenize='{FTS5_TOKENIZE}')"
    )
    conn.executemany("INSERT INTO docs VALUES (?, ?, ?)", corpus_rows(collection.corpus))
    conn.commit()
    seconds = time.perf_counter() - started
    sql = "SELECT docid, -bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"
    runs = []
    for name, distinct in (("FTS5", False), ("FTS5 distinct", True)):

        def answer(text: str, distinct: bool = distinct) -> tuple[Ranked, None]:
            match = fts5_match(text, distinct=distinct)
            return (conn.execute(sql, (match, HITS)).fetchall() if match else []), None

        run = SystemRun(name, index_seconds=seconds)
        run_queries(run, collection.queries, answer)
        runs.append(run)
    conn.close()
    return runs[0], runs[1]


# -- run files ------------------------------------------------------------------------------


def write_run(run: SystemRun, path: Path, tag: str) -> None:
    """A TREC run file: qid Q0 docid rank score tag, in the order the system ranked."""
    with open(path, "w", encoding="utf-8") as f:
        for qid, ranked in run.ranked.items():
            for rank, (docid, score) in enumerate(ranked, start=1):
                f.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def read_run(path: Path) -> dict[str, dict[str, float]]:
    """qid -> {docid: score} from a TREC run file."""
    run: dict[str, dict[str, float]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            qid, _, docid, _, score, _ = line.split()
            run.setdefault(qid, {})[docid] = float(score)
    return run


def verify(run_path: Path, qrels: Qrels, ours: float) -> dict[str, object]:
    """nDCG@10 of the run file by pytrec_eval (or else ranx), and whether it agrees with ours."""
    run = read_run(run_path)
    for evaluator in (_pytrec_eval_ndcg, _ranx_ndcg):
        try:
            tool, per_query = evaluator(run, qrels)
        except ImportError:
            continue
        theirs = sum(per_query.get(q, 0.0) for q in qrels) / (len(qrels) or 1)
        # ours is rounded to 4 decimals: rounding both to 3 would call 0.41049 and 0.41051
        # different.
        agrees = abs(theirs - ours) <= 1e-4
        return {"tool": tool, "ndcg@10": round(theirs, 4), "agrees": agrees}
    return {"tool": None, "note": "neither pytrec_eval nor ranx is installed"}


def _pytrec_eval_ndcg(run: dict, qrels: Qrels) -> tuple[str, dict[str, float]]:
    import pytrec_eval

    scores = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return "pytrec_eval", {q: s["ndcg_cut_10"] for q, s in scores.items()}


def _ranx_ndcg(run: dict, qrels: Qrels) -> tuple[str, dict[str, float]]:
    from ranx import Qrels as RanxQrels
    from ranx import Run as RanxRun
    from ranx import evaluate

    ranx_run = RanxRun(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety notes, not about the result
        evaluate(RanxQrels(qrels), ranx_run, "ndcg@10", make_comparable=True)
    return "ranx", {q: float(s) for q, s in ranx_run.scores["ndcg@10"].items()}


# -- the report -----------------------------------------------------------------------------


def summary(run: SystemRun, collection: Collection) -> dict[str, object]:
    """Every figure of one system's run."""
    long = [
        s for q, s in run.seconds.items() if len(collection.queries[q].split()) >= LONG_QUERY_WORDS
    ]
    times = latency_ms(list(run.seconds.values()))
    return {
        **evaluate(run, collection.qrels),
        "p50_ms": times["p50"],
        "p95_ms": times["p95"],
        "long_queries": len(long),
        "long_p95_ms": latency_ms(long)["p95"],
        "long_page_p95_ms": latency_ms(run.page_seconds)["p95"] if run.page_seconds else "",
        "index_seconds": round(run.index_seconds, 2),
        "fallbacks": len(run.fallbacks),
        "words_only": run.fallbacks[:20],
        "mended": len(run.mended),
        "mended_ids": run.mended[:20],
    }


ROWS = [
    ("nDCG@10", "ndcg@10"),
    ("Recall@100", "recall@100"),
    ("MAP", "map"),
    ("query p50 (ms)", "p50_ms"),
    ("query p95 (ms)", "p95_ms"),
    (f"p95, queries of {LONG_QUERY_WORDS}+ words (ms)", "long_p95_ms"),
    (f"p95, {LONG_QUERY_WORDS}+ words, first page of 10 (ms)", "long_page_p95_ms"),
    ("index build (s)", "index_seconds"),
    ("queries searched as words only", "fallbacks"),
    ("queries mended by the parser (with a notice)", "mended"),
]


def print_report(report: dict) -> None:
    """The side-by-side table and where the run file is."""
    ours, fts, once = report["searchsvc"], report["fts5"], report["fts5_distinct"]
    print(
        f"{report['collection']}: {report['documents']:,} documents, {report['queries']} "
        f"queries ({ours['long_queries']} of {LONG_QUERY_WORDS}+ words), "
        f"{report['judgments']:,} judgments in {report['qrels']}"
    )
    headers = ["", "searchsvc", "FTS5 bm25(), as typed", "FTS5, each word once"]
    print(table(headers, [(k, ours[v], fts[v], once[v]) for k, v in ROWS]))
    for label, key in (("searched as words only", "words_only"), ("mended", "mended_ids")):
        if ours[key]:
            print(f"{label}: {', '.join(ours[key])}")
    print(f"run file: {report['run_file']} (FTS5: {report['fts5_run_file']})")
    check = report.get("verify")
    if check:
        if check.get("tool"):
            verdict = "agrees" if check["agrees"] else "DISAGREES"
            print(f"verify: {check['tool']} nDCG@10 = {check['ndcg@10']:.4f}, {verdict}")
        else:
            print(f"verify: {check['note']}")
    print(machine_line())


def print_all(reports: list[dict]) -> None:
    """One table: every collection, ours beside FTS5, with the evaluator's check."""
    rows = []
    for r in reports:
        ours, check = r["searchsvc"], r.get("verify") or {}
        rows.append(
            (
                r["collection"],
                r["queries"],
                ours["ndcg@10"],
                r["fts5"]["ndcg@10"],
                r["fts5_distinct"]["ndcg@10"],
                _verdict(check),
                ours["fallbacks"],
                ours["mended"],
                ours["long_queries"],
                ours["long_p95_ms"],
                ours["long_page_p95_ms"],
            )
        )
    headers = [
        "collection",
        "queries",
        "searchsvc nDCG@10",
        "FTS5 as typed",
        "FTS5 each word once",
        "pytrec_eval",
        "as words only",
        "mended",
        f"{LONG_QUERY_WORDS}+ words",
        "p95, 100 hits (ms)",
        "p95, page of 10 (ms)",
    ]
    print(table(headers, rows))
    for r in reports:
        for label, key in (("searched as words only", "words_only"), ("mended", "mended_ids")):
            if r["searchsvc"][key]:
                print(f"{r['collection']}, {label}: {', '.join(r['searchsvc'][key])}")
    print(machine_line())


def _verdict(check: dict) -> str:
    if not check:
        return "-"
    if not check.get("tool"):
        return "not installed"
    return f"{check['ndcg@10']:.4f} " + ("agrees" if check["agrees"] else "DISAGREES")


def benchmark(args: argparse.Namespace, folder: Path) -> dict:
    """Run every system on the collection in folder and gather every figure."""
    collection = load_collection(folder, args.qrels and Path(args.qrels))
    run_path = Path(args.run) if args.run else _default_run_path(collection.name)
    with tempfile.TemporaryDirectory(prefix="searchsvc-relevance-") as tmp:
        ours = run_searchsvc(collection, Path(tmp))
        fts, fts_once = run_fts5(collection, Path(tmp))
    write_run(ours, run_path, "searchsvc")
    fts_path = run_path.with_name(run_path.name + ".fts5")
    write_run(fts, fts_path, "fts5")
    report = {
        "collection": collection.name,
        "qrels": str(args.qrels or "qrels/test.tsv"),
        "documents": sum(1 for _ in corpus_rows(collection.corpus)),
        "queries": len(collection.queries),
        "judgments": sum(len(j) for j in collection.qrels.values()),
        "searchsvc": summary(ours, collection),
        "fts5": summary(fts, collection),
        "fts5_distinct": summary(fts_once, collection),
        "run_file": str(run_path),
        "fts5_run_file": str(fts_path),
        "machine": machine(),
    }
    if args.verify:
        report["verify"] = verify(run_path, collection.qrels, report["searchsvc"]["ndcg@10"])
    return report


def _default_run_path(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="searchsvc-runs-")) / f"{name}.searchsvc.run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("collection", help="folder with corpus.jsonl, queries.jsonl, qrels/")
    parser.add_argument(
        "--all", action="store_true", help="COLLECTION is a folder of collections: run each"
    )
    parser.add_argument("--qrels", help="judgments to evaluate (default: qrels/test.tsv)")
    parser.add_argument("--run", help="where to write our TREC run (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    parser.add_argument(
        "--verify", action="store_true", help="check nDCG@10 with pytrec_eval or ranx"
    )
    args = parser.parse_args(argv)
    root = Path(args.collection)
    if args.all:
        if args.qrels or args.run:
            parser.error("--qrels and --run name one collection's files; not with --all")
        folders = sorted(p for p in root.iterdir() if (p / "corpus.jsonl").is_file())
        if not folders:
            parser.error(f"no folder with a corpus.jsonl in {root}")
        reports = []
        for folder in folders:
            print(f"{folder.name}...", file=sys.stderr, flush=True)
            reports.append(benchmark(args, folder))
        print(json.dumps(reports, indent=2)) if args.json else print_all(reports)
        return 0
    if not (root / "corpus.jsonl").is_file():
        parser.error(f"no corpus.jsonl in {args.collection}")
    report = benchmark(args, root)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
