"""Corpora for the benchmarks: the White House archive, a slice of it, and larger ones made from it.

    archive or folder --prepare_corpus--> a folder of source files
    a folder --sample_corpus(N)--> every k-th file of it, N in all, copied (--sample)
    a folder --write_growth_corpus(K)--> K - 1 copies, dates moved back K x 8 years (growth)
    a folder --write_synthetic(N)--> N new releases: each a source release with its
      sentences shuffled, a title of two releases' halves, a new date and URL (1M corpus)

Everything made here is seeded: the same arguments give the same files.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tarfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import yaml

from searchsvc.reading import discover

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARCHIVE = REPO.parent / "shared" / "corpora" / "wh-briefings.tar.gz"
# Copies of the corpus move their dates back by multiples of 8 years: past the corpus's
# 6-year span, and a multiple of 4, so 29 February stays a real date (1901-2099).
YEARS_PER_COPY = 8
_DATE_LINE = re.compile(r"^((?:date|published_time|modified_time):\s*'?)(\d{4})", re.M)
_FENCE = re.compile(r"^---[ \t]*$", re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n")
SYNTHETIC_FIRST_DAY = date(1990, 1, 1)
SYNTHETIC_LAST_DAY = date(2026, 8, 21)
SYNTHETIC_MARK = ".synthetic.json"  # hidden: the indexer leaves it out
FILES_PER_FOLDER = 1000


def prepare_corpus(given: str | None, tmp: Path) -> Path:
    """A folder of source files: the one given, or an archive unpacked into tmp."""
    source = Path(given) if given else DEFAULT_ARCHIVE
    if source.is_dir():
        return source.resolve()
    if not source.is_file():
        raise SystemExit(f"No corpus at {source}. Pass --corpus FOLDER or ARCHIVE.tar.gz")
    target = tmp / "corpus"
    target.mkdir()
    with tarfile.open(source) as archive:
        archive.extractall(target, filter="data")
    entries = [p for p in target.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def source_files(corpus: Path) -> list[Path]:
    """The files the indexer reads from the corpus, in its own order."""
    found, _ = discover([corpus])
    return [Path(s.path) for s in found]


def sample_corpus(corpus: Path, target: Path, n: int) -> Path:
    """n files of the corpus, evenly spread (every k-th), copied under target."""
    files = source_files(corpus)
    step = max(len(files) / n, 1.0)
    for i in range(min(n, len(files))):
        src = files[int(i * step)]
        dest = target / src.relative_to(corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return target


def write_new_documents(corpus: Path, target: Path, n: int, seed: int = 7) -> list[Path]:
    """n copies of corpus files under new names, each with a changed title and text."""
    rng = random.Random(seed)
    files = source_files(corpus)
    picked = rng.sample(files, min(n, len(files)))
    written = []
    for i, src in enumerate(picked, start=1):
        rel = src.relative_to(corpus)
        dest = target / rel.parent / f"{rel.stem}-bench-copy-{i}{rel.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = _retitle(src.read_text(encoding="utf-8"), f"Copy {i} of ")
        dest.write_text(f"{text}\n\nBenchmark copy {i} of {rel.name}.\n", encoding="utf-8")
        written.append(dest)
    return written


def _retitle(text: str, prefix: str) -> str:
    """The file's text with prefix put before its front-matter title."""
    head = re.compile(r"^title: ['\"]?", re.M)
    return head.sub(lambda m: m.group() + prefix, text, count=1)


def write_growth_corpus(corpus: Path, target: Path, factor: int) -> int:
    """factor - 1 copies of the corpus under target/copy-K, dates moved back K x 8 years."""
    files = source_files(corpus)
    for k in range(1, factor):
        shift = k * YEARS_PER_COPY
        for src in files:
            dest = target / f"copy-{k}" / src.relative_to(corpus)
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = src.read_text(encoding="utf-8")
            moved = _DATE_LINE.sub(lambda m, s=shift: f"{m.group(1)}{int(m.group(2)) - s}", text)
            dest.write_text(moved, encoding="utf-8")
    return len(files) * factor


# -- the synthetic corpus ------------------------------------------------------------------------


def read_sources(corpus: Path) -> list[tuple[dict, str]]:
    """Every source release's front matter (a mapping) and body."""
    out = []
    for path in source_files(corpus):
        text = path.read_text(encoding="utf-8")
        meta, body = _split(text)
        out.append((meta, body))
    return out


def _split(text: str) -> tuple[dict, str]:
    first, _, rest = text.partition("\n")
    end = _FENCE.search(rest)
    if first.rstrip() != "---" or end is None:
        return {}, text
    try:
        meta = yaml.load(rest[: end.start()], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), rest[end.end() :]


def synthetic_release(sources: Sequence[tuple[dict, str]], i: int, seed: int) -> tuple[str, str]:
    """Release number i: (its relative path, its text). The same (i, seed), the same text."""
    rng = random.Random(seed * 1_000_003 + i)
    meta, body = sources[i % len(sources)]
    other, _ = sources[rng.randrange(len(sources))]
    day = SYNTHETIC_FIRST_DAY + timedelta(
        days=rng.randrange((SYNTHETIC_LAST_DAY - SYNTHETIC_FIRST_DAY).days + 1)
    )
    front = {
        "date": f"{day:%Y-%m-%d}",
        "published_time": f"{day:%Y-%m-%d} {rng.randrange(7, 22):02d}:{rng.randrange(60):02d}:00",
        "source_url": f"https://example.org/synthetic/{i:08d}",
        "tags": meta.get("tags") or "uncategorized",
        "title": _mixed_title(str(meta.get("title") or ""), str(other.get("title") or ""), rng),
    }
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=True, width=10_000)
    rel = f"s{i // FILES_PER_FOLDER:04d}/{day:%Y-%m-%d}-{i:08d}.md"
    return rel, f"---\n{head}---\n\n{shuffled_sentences(body, rng)}\n"


def _mixed_title(first: str, second: str, rng: random.Random) -> str:
    """The first half of one title's words, then the second half of another's."""
    a, b = first.split(), second.split()
    cut_a, cut_b = max(len(a) // 2, 1), len(b) // 2
    words = a[:cut_a] + b[cut_b:]
    return " ".join(words) or f"Release {rng.randrange(10**6)}"


def shuffled_sentences(body: str, rng: random.Random) -> str:
    """The body's sentences in a shuffled order, poured back into its paragraphs' sizes."""
    paragraphs = [p.strip() for p in _PARAGRAPH.split(body) if p.strip()]
    split = [_SENTENCE_END.split(p) for p in paragraphs]
    sentences = [s for p in split for s in p]
    rng.shuffle(sentences)
    out, at = [], 0
    for p in split:
        out.append(" ".join(sentences[at : at + len(p)]))
        at += len(p)
    return "\n\n".join(out)


def synthetic_bytes(sources: Sequence[tuple[dict, str]], n: int) -> int:
    """About how many bytes n synthetic releases take on disk (in 4 KiB blocks)."""
    sample = [synthetic_release(sources, i, 0)[1] for i in range(min(len(sources), 500))]
    blocks = sum(-(-len(t.encode("utf-8")) // 4096) for t in sample) / max(len(sample), 1)
    return int(blocks * 4096 * n)


def write_synthetic(corpus: Path, target: Path, n: int, seed: int = 11, procs: int = 1) -> dict:
    """n synthetic releases under target (made once: reused if the mark says so)."""
    mark = target / SYNTHETIC_MARK
    wanted = {"releases": n, "seed": seed, "source": str(corpus)}
    if mark.is_file() and json.loads(mark.read_text(encoding="utf-8")) == wanted:
        return {**wanted, "reused": True}
    sources = read_sources(corpus)
    need = synthetic_bytes(sources, n)
    existing = next(p for p in (target, *target.resolve().parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if need > free * 0.9:
        raise SystemExit(
            f"{n:,} synthetic releases need about {need / 2**30:.1f} GiB; "
            f"{free / 2**30:.1f} GiB free under {target}"
        )
    target.mkdir(parents=True, exist_ok=True)
    mark.unlink(missing_ok=True)
    chunks = [(start, min(start + FILES_PER_FOLDER, n)) for start in range(0, n, FILES_PER_FOLDER)]
    if procs > 1:
        with ProcessPoolExecutor(procs, initializer=_init, initargs=(sources, target, seed)) as ex:
            list(ex.map(_write_chunk, chunks, chunksize=4))
    else:
        _init(sources, target, seed)
        for chunk in chunks:
            _write_chunk(chunk)
    mark.write_text(json.dumps(wanted), encoding="utf-8")
    return {**wanted, "reused": False, "bytes_estimated": need}


_STATE: dict = {}


def _init(sources: Sequence[tuple[dict, str]], target: Path, seed: int) -> None:
    _STATE.update(sources=sources, target=target, seed=seed)


def _write_chunk(chunk: tuple[int, int]) -> None:
    sources, target, seed = _STATE["sources"], _STATE["target"], _STATE["seed"]
    for i in range(*chunk):
        rel, text = synthetic_release(sources, i, seed)
        dest = target / rel
        dest.parent.mkdir(exist_ok=True)
        dest.write_text(text, encoding="utf-8")
