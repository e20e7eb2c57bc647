"""Damage is detected: checksums at commit, `searchsvc check`, the Engine and the CLI refuse a
damaged generation (or fall back to an intact earlier one), and a refresh keeps serving the
last good snapshot when the new state cannot be used.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import mmap
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import SEEDS

from searchsvc.cli import main
from searchsvc.indexing import index_paths, integrity, storage
from searchsvc.searching import Engine, SearchRequest
from searchsvc.web import create_app

ZEBRA = "---\ntitle: Zebra crossing\ndate: 2024-05-01\n---\nA zebra crossing opened.\n"


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    report = index_paths(tmp_path / "ix", [tmp_path / "seeds"], procs=1)
    assert report.total == 5
    return tmp_path


def _files(gen: Path) -> set[str]:
    return {p.name for p in gen.iterdir()}


def _segment(gen: Path, among: set[str] | None = None) -> Path:
    """The largest segment file of a generation (of the names in among, if given)."""
    names = [n for n in _files(gen) if n.endswith(".seg") and (among is None or n in among)]
    return max((gen / n for n in names), key=lambda p: p.stat().st_size)


def damage(path: Path, how: str) -> None:
    """Truncate a file to half its size, or overwrite up to 4 KB in its middle."""
    size = path.stat().st_size
    if how == "truncated":
        os.truncate(path, size // 2)
        return
    length = min(4096, size)
    with open(path, "r+b") as f:
        f.seek((size - length) // 2)
        original = f.read(length)
        f.seek((size - length) // 2)
        f.write(bytes(b ^ 0xFF for b in original))  # every byte differs


DAMAGE = ["truncated", "overwritten"]


# -- checksums at commit -----------------------------------------------------------------------


def test_every_needed_file_is_listed_after_a_commit(seeds_copy):
    gen = storage.current_generation(seeds_copy / "ix")
    listed = storage.read_checksums(gen)
    toc, segments = integrity.needed_files(gen)
    assert set(listed) == {toc, *(n for names in segments.values() for n in names)}
    for name, (size, digest) in listed.items():
        assert size == (gen / name).stat().st_size and len(digest) == 64
    verdict = storage.verify_generation(gen)
    assert verdict.ok and not verdict.unverified and verdict.files == len(listed)
    assert storage.read_manifest(gen)  # the sources' stat cache is still there


def test_an_incremental_commit_lists_its_new_files_and_drops_merged_ones(seeds_copy):
    (seeds_copy / "seeds" / "zebra.md").write_text(ZEBRA, encoding="utf-8")
    index_paths(seeds_copy / "ix", [seeds_copy / "seeds"], procs=1)
    gen = storage.current_generation(seeds_copy / "ix")
    listed = storage.read_checksums(gen)
    assert all((gen / name).exists() for name in listed)
    assert integrity.latest_toc(gen)[1] in listed
    assert storage.verify_generation(gen).ok


@pytest.mark.parametrize("how", DAMAGE)
def test_damage_is_found_by_verify(seeds_copy, how):
    gen = storage.current_generation(seeds_copy / "ix")
    segment = _segment(gen)
    damage(segment, how)
    verdict = storage.verify_generation(gen)
    assert [d.name for d in verdict.damaged] == [segment.name]
    reason = verdict.damaged[0].reason
    assert "truncated" in reason if how == "truncated" else "sha256 differs" in reason


def test_a_damaged_table_of_contents_is_found(seeds_copy):
    gen = storage.current_generation(seeds_copy / "ix")
    toc = gen / integrity.latest_toc(gen)[1]
    damage(toc, "overwritten")
    verdict = storage.verify_generation(gen)
    assert [d.name for d in verdict.damaged] == [toc.name]


def test_a_missing_segment_file_is_damage(seeds_copy):
    gen = storage.current_generation(seeds_copy / "ix")
    segment = _segment(gen)
    segment.unlink()
    verdict = storage.verify_generation(gen)
    assert [(d.name, d.reason) for d in verdict.damaged] == [(segment.name, "missing")]


def test_files_whoosh_no_longer_references_are_ignored(seeds_copy):
    gen = storage.current_generation(seeds_copy / "ix")
    (gen / "MAIN_zzzzzzzzzzzzzzzz.seg").write_bytes(b"left by a killed writer")
    (gen / "_MAIN_0.toc").write_bytes(b"an old table of contents")
    assert storage.verify_generation(gen).ok


def test_a_commit_not_yet_listed_is_unverified_not_damaged(seeds_copy):
    # As a writer killed between Whoosh's commit and the manifest write leaves it.
    gen = storage.current_generation(seeds_copy / "ix")
    writer = storage.open_index(seeds_copy / "ix").writer()
    writer.add_document(id="z1", title="Zebra", body="zebra", path="/nowhere", hash="h")
    writer.commit(merge=False)
    verdict = storage.verify_generation(gen)
    assert verdict.ok and len(verdict.unverified) == 2  # the new TOC and segment
    with Engine(seeds_copy / "ix") as engine:
        assert engine.search(SearchRequest(q="zebra")).total == 1
        assert engine.freshness().warning is None
    index_paths(seeds_copy / "ix", [seeds_copy / "seeds"], procs=1)  # lists them
    assert not storage.verify_generation(gen).unverified


def test_an_index_with_the_old_flat_manifest_opens_unverified(seeds_copy, runner):
    gen = storage.current_generation(seeds_copy / "ix")
    sources = storage.read_manifest(gen)
    (gen / storage.MANIFEST).write_text(json.dumps(sources), encoding="utf-8")
    (gen / storage.CHECKSUMS).unlink()
    assert storage.read_manifest(gen) == sources and storage.read_checksums(gen) == {}
    verdict = storage.verify_generation(gen)
    # The table of contents, the segment, its forward file (indexing/forward.py), its
    # posting file (indexing/postfile.py) and its doc values (indexing/docvalues.py).
    assert verdict.ok and len(verdict.unverified) == verdict.files == 5
    with Engine(seeds_copy / "ix") as engine:
        assert engine.search(SearchRequest(q="turkmenistan")).total == 5
    result = runner.invoke(main, ["check", "--index-dir", str(seeds_copy / "ix")])
    assert result.exit_code == 0 and "5 files have no checksum yet" in result.stdout
    assert result.stdout.endswith("nothing verified: no file has a checksum yet\n")
    report = index_paths(seeds_copy / "ix", [seeds_copy / "seeds"], procs=1)
    assert report.unchanged == 5
    assert set(storage.read_checksums(gen)) == _files(gen) - {
        storage.MANIFEST,
        storage.CHECKSUMS,
        "MAIN_WRITELOCK",
    }


# -- searchsvc check, the Engine and the CLI ---------------------------------------------------


def test_check_an_intact_index(seeds_copy, runner):
    ix = seeds_copy / "ix"
    result = runner.invoke(main, ["check", "--index-dir", str(ix)])
    assert result.exit_code == 0, result.output
    first, last = result.stdout.splitlines()
    gen = storage.current_generation(ix)
    # The table of contents, the segment, its forward file, posting file and doc values.
    assert first.startswith("checked 5 files, ") and f"bytes of {gen} in " in first
    assert last == "intact"


def test_check_without_an_index(tmp_path, runner):
    result = runner.invoke(main, ["check", "--index-dir", str(tmp_path / "none")])
    assert result.exit_code == 1 and "No index at" in result.stderr


@pytest.mark.parametrize("how", DAMAGE)
def test_check_names_the_damaged_file_and_what_to_do(seeds_copy, runner, how):
    ix = seeds_copy / "ix"
    segment = _segment(storage.current_generation(ix))
    damage(segment, how)
    result = runner.invoke(main, ["check", "--index-dir", str(ix)])
    assert result.exit_code == 1
    assert result.stdout.startswith("checked 5 files")
    damaged, advice = result.stderr.splitlines()
    assert damaged.startswith(f"damaged: {segment}: ")
    assert advice == f"run: searchsvc index PATH --rebuild --index-dir {ix}"


@pytest.mark.parametrize("how", DAMAGE)
def test_the_engine_refuses_a_damaged_generation(seeds_copy, how):
    ix = seeds_copy / "ix"
    segment = _segment(storage.current_generation(ix))
    damage(segment, how)
    with Engine(ix) as engine, pytest.raises(storage.IndexDamagedError) as caught:
        engine.search(SearchRequest(q="turkmenistan"))
    message = str(caught.value)
    assert str(segment) in message and "searchsvc index PATH --rebuild" in message
    assert "\n" not in message


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("command", [["search", "turkmenistan"], ["stats"], ["index"]])
def test_the_cli_says_which_file_is_damaged(seeds_copy, runner, how, command):
    ix = seeds_copy / "ix"
    segment = _segment(storage.current_generation(ix))
    damage(segment, how)
    if command == ["index"]:
        command = ["index", str(seeds_copy / "seeds")]
    result = runner.invoke(main, [*command, "--index-dir", str(ix)])
    assert result.exit_code == 1
    assert result.stdout == ""
    line = result.stderr.strip()
    assert line.startswith(f"Error: {segment} is damaged: ") and "\n" not in line
    assert line.endswith("Run: searchsvc index PATH --rebuild")


def test_a_rebuild_replaces_a_damaged_generation(seeds_copy, runner):
    ix = seeds_copy / "ix"
    damage(_segment(storage.current_generation(ix)), "truncated")
    result = runner.invoke(
        main, ["index", str(seeds_copy / "seeds"), "--rebuild", "--index-dir", str(ix)]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["check", "--index-dir", str(ix)]).exit_code == 0


# -- falling back to an intact earlier generation -----------------------------------------------


@pytest.fixture
def rebuilt(seeds_copy) -> Path:
    """Two generations: gen-000001 with the seeds, and the live gen-000002 with a zebra too."""
    (seeds_copy / "seeds" / "zebra.md").write_text(ZEBRA, encoding="utf-8")
    index_paths(seeds_copy / "ix", [seeds_copy / "seeds"], procs=1, rebuild=True)
    assert storage.current_generation(seeds_copy / "ix").name == "gen-000002"
    return seeds_copy / "ix"


@pytest.mark.parametrize("how", DAMAGE)
def test_the_engine_falls_back_to_the_intact_earlier_generation(rebuilt, how):
    segment = _segment(rebuilt / "gen-000002")
    damage(segment, how)
    with Engine(rebuilt, check_interval=0) as engine:
        result = engine.search(SearchRequest(q="turkmenistan"))
        assert result.total == 5
        assert engine.search(SearchRequest(q="zebra")).total == 0  # gen-000001 has none
        health = engine.freshness()
    assert health.generation == "gen-000001"
    assert str(segment) in health.warning and "serving the earlier gen-000001" in health.warning


def test_the_cli_warns_on_stderr_when_it_falls_back(rebuilt, runner):
    segment = _segment(rebuilt / "gen-000002")
    damage(segment, "truncated")
    result = runner.invoke(main, ["search", "turkmenistan", "--index-dir", str(rebuilt)])
    assert result.exit_code == 0
    assert result.stdout.startswith("5 results")
    assert result.stderr.startswith(f"warning: {segment} is damaged: ")
    assert "serving the earlier gen-000001" in result.stderr
    stats = runner.invoke(main, ["stats", "--index-dir", str(rebuilt)])
    assert stats.exit_code == 0 and "documents: 5 " in stats.stdout
    assert f"{segment} is damaged" in stats.stderr


def test_no_fall_back_to_a_damaged_earlier_generation(rebuilt):
    damage(_segment(rebuilt / "gen-000002"), "truncated")
    earlier = _segment(rebuilt / "gen-000001")
    damage(earlier, "overwritten")
    with Engine(rebuilt) as engine, pytest.raises(storage.IndexDamagedError) as caught:
        engine.search(SearchRequest(q="turkmenistan"))
    assert "gen-000002" in str(caught.value)  # the live generation's damage is reported


def test_health_warns_while_an_earlier_generation_is_served(rebuilt):
    segment = _segment(rebuilt / "gen-000002")
    damage(segment, "overwritten")
    client = create_app({"TESTING": True, "INDEX_DIR": str(rebuilt)}).test_client()
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["documents"] == 5
    assert body["generation"] == "gen-000001" and str(segment) in body["warning"]
    assert client.get("/api/search?q=turkmenistan").get_json()["total"] == 5


def test_health_is_503_when_nothing_can_be_served(seeds_copy):
    ix = seeds_copy / "ix"
    segment = _segment(storage.current_generation(ix))
    damage(segment, "truncated")
    client = create_app({"TESTING": True, "INDEX_DIR": str(ix)}).test_client()
    for url in ("/api/health", "/api/search?q=turkmenistan"):
        response = client.get(url)
        assert response.status_code == 503
        body = response.get_json()
        assert body["ok"] is False and body["status"] == 503 and str(segment) in body["error"]
    page = client.get("/?q=turkmenistan")
    assert page.status_code == 503 and b"Index damaged" in page.data


def test_health_of_an_intact_index_has_no_warning(seeds_copy):
    client = create_app({"TESTING": True, "INDEX_DIR": str(seeds_copy / "ix")}).test_client()
    body = client.get("/api/health").get_json()
    assert body["warning"] is None and body["generation"] == "gen-000001"


@pytest.mark.parametrize("command", [["search", "turkmenistan"], ["stats"], ["index"], ["check"]])
def test_damage_without_checksums_is_one_line_not_aborted(seeds_copy, runner, command):
    # An index written before checksums: the open (or a read of its columns) finds it.
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    sources = storage.read_manifest(gen)
    (gen / storage.MANIFEST).write_text(json.dumps(sources), encoding="utf-8")
    (gen / storage.CHECKSUMS).unlink()
    damage(_segment(gen), "truncated")
    if command == ["index"]:
        command = ["index", str(seeds_copy / "seeds")]
    result = runner.invoke(main, [*command, "--index-dir", str(ix)])
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"Error: {gen} cannot be opened (")
    assert line.endswith("Run: searchsvc index PATH --rebuild")
    assert "Aborted" not in result.output


def test_the_manifest_keeps_sources_and_marks_apart_from_the_checksums(seeds_copy):
    gen = storage.current_generation(seeds_copy / "ix")
    files = storage.read_checksums(gen)
    mark = storage.read_mark(gen, "entities")
    assert mark  # the fingerprint of the entity lists the documents were derived with
    storage.write_manifest(gen, {"/a/b.txt": [1, 2, {"b": "f" * 40}, 0]})
    data = json.loads((gen / storage.MANIFEST).read_text(encoding="utf-8"))
    sources = {"/a/b.txt": [1, 2, {"b": "f" * 40}, 0]}
    assert data == {"sources": sources, "marks": {"entities": mark}}
    listing = json.loads((gen / storage.CHECKSUMS).read_text(encoding="utf-8"))
    assert listing["files"] == files and set(listing["stamps"]) <= set(files)
    assert storage.read_manifest(gen) == data["sources"] and storage.read_checksums(gen) == files
    storage.write_mark(gen, "entities", "abc")
    assert storage.read_mark(gen, "entities") == "abc" and storage.read_manifest(gen) == sources


def test_a_run_killed_before_its_checksums_leaves_a_usable_index(seeds_copy, runner, monkeypatch):
    def killed(gen):
        raise KeyboardInterrupt("killed between Whoosh's commit and the checksums")

    (seeds_copy / "seeds" / "zebra.md").write_text(ZEBRA, encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr(storage, "write_checksums", killed)
        with pytest.raises(KeyboardInterrupt):
            index_paths(seeds_copy / "ix", [seeds_copy / "seeds"], procs=1)
    ix = seeds_copy / "ix"
    result = runner.invoke(main, ["check", "--index-dir", str(ix)])
    # The new table of contents, the new segment, its forward file, posting file and doc values.
    assert result.exit_code == 0 and "5 files have no checksum yet" in result.stdout
    with Engine(ix) as engine:
        assert engine.search(SearchRequest(q="zebra")).total == 1
        assert engine.freshness().warning is None
    index_paths(ix, [seeds_copy / "seeds"], procs=1)
    assert not storage.verify_generation(storage.current_generation(ix)).unverified


# -- stamps: a searcher's open trusts large unchanged files, then hashes them -----------------


@pytest.fixture
def stamped(seeds_copy, monkeypatch) -> Path:
    """The seeds' index with every file but the table of contents stamped (not racy): the
    threshold lowered to 0 bytes, and a second run 0.2 s later, which stamps them anew."""
    monkeypatch.setattr(integrity, "TRUST_OVER", 0)
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    time.sleep(0.2)
    index_paths(ix, [seeds_copy / "seeds"], procs=1)  # nothing to read: the stamps renewed
    listing = json.loads((gen / storage.CHECKSUMS).read_text(encoding="utf-8"))
    stamps = listing["stamps"]
    assert set(stamps) == set(listing["files"]) and not any(map(integrity.racy, stamps.values()))
    return ix


def _rot(path: Path) -> None:
    """Damage a file as bit rot would: its bytes change, its stamp (here: rewritten) not."""
    damage(path, "overwritten")
    gen = path.parent
    listing = json.loads((gen / storage.CHECKSUMS).read_text(encoding="utf-8"))
    st = path.stat()
    later = max(st.st_mtime_ns, st.st_ctime_ns) + 10**9
    listing["stamps"][path.name] = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, later]
    (gen / storage.CHECKSUMS).write_text(json.dumps(listing), encoding="utf-8")


def _until(condition, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "not within the time given"
        time.sleep(0.02)


def test_an_open_hashes_only_what_its_stamps_do_not_vouch_for(stamped):
    gen = storage.current_generation(stamped)
    toc = integrity.latest_toc(gen)[1]
    integrity._digests.clear()  # as a process that never hashed them
    quick = storage.verify_generation(gen, trust_stamps=True)
    assert quick.ok and set(quick.trusted) == set(storage.read_checksums(gen)) - {toc}
    assert quick.hashed_bytes == (gen / toc).stat().st_size
    full = storage.verify_generation(gen)  # every file hashed (the toc: remembered)
    assert full.ok and not full.trusted
    assert full.hashed_bytes == full.bytes - (gen / toc).stat().st_size


def test_a_racy_stamp_is_not_trusted():
    second = 10**9
    assert integrity.racy([1, 2, 5 * second + 7, 5 * second + 7, 5 * second + 50_000_000])
    assert not integrity.racy([1, 2, 5 * second + 7, 5 * second + 7, 6 * second])
    # A file system keeping whole seconds: two seconds apart at least.
    assert integrity.racy([1, 2, 5 * second, 5 * second, 6 * second])
    assert not integrity.racy([1, 2, 5 * second, 5 * second, 7 * second])


@pytest.mark.parametrize("how", DAMAGE)
def test_a_written_file_is_hashed_at_the_open_despite_its_stamp(stamped, how):
    segment = _segment(storage.current_generation(stamped))
    damage(segment, how)  # a write: new mtime and ctime, so the stamp no longer matches
    verdict = storage.verify_generation(segment.parent, trust_stamps=True)
    assert [d.name for d in verdict.damaged] == [segment.name]
    with Engine(stamped) as engine, pytest.raises(storage.IndexDamagedError):
        engine.search(SearchRequest(q="turkmenistan"))


def test_damage_under_a_matching_stamp_is_found_right_after_the_open(stamped):
    segment = _segment(storage.current_generation(stamped))
    _rot(segment)
    assert storage.verify_generation(segment.parent, trust_stamps=True).ok  # trusted
    with Engine(stamped, retry_interval=3600) as engine:
        engine.snapshot()  # opened on trust; its thread then hashes the segment

        def refused() -> bool:
            try:
                engine.search(SearchRequest(q="turkmenistan"))
            except storage.IndexDamagedError as exc:
                assert str(segment) in str(exc) and "sha256 differs" in str(exc)
                return True
            return False

        _until(refused)


def test_the_check_after_an_open_rests_in_proportion_to_each_chunk(stamped, monkeypatch):
    """Paced (Engine.CONFIRM_REST): after each chunk it sleeps rest times the chunk's time."""
    gen = storage.current_generation(stamped)
    segment = _segment(gen)
    monkeypatch.setattr(integrity, "_CHUNK", 4096)
    integrity._digests.clear()
    clock = iter(range(10**6))
    rests: list[float] = []
    me = threading.get_ident()

    class Time:  # integrity's clock: 10 ms a reading, its rests recorded (this thread's)
        time_ns = staticmethod(time.time_ns)

        @staticmethod
        def perf_counter() -> float:
            return next(clock) / 100 if threading.get_ident() == me else time.perf_counter()

        @staticmethod
        def sleep(seconds: float) -> None:
            if threading.get_ident() == me:
                rests.append(seconds)
            else:
                time.sleep(seconds)

    monkeypatch.setattr(integrity, "time", Time)
    verdict = storage.verify_trusted(gen, [segment.name], rest=3.0)
    assert verdict.ok and verdict.files == 1
    chunks = -(-segment.stat().st_size // 4096)
    assert rests == [pytest.approx(0.03)] * chunks
    integrity._digests.clear()
    assert storage.verify_trusted(gen, [segment.name]).ok  # not paced: no rest
    assert len(rests) == chunks


def _resident_pages(path: Path) -> int:
    """How many of path's pages the page cache holds (mincore over a map of the file)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t] + [ctypes.c_int] * 3 + [ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    with open(path, "rb") as f:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
        assert addr is not None and addr != ctypes.c_void_p(-1).value
        try:
            vec = ctypes.create_string_buffer(-(-size // mmap.PAGESIZE))
            assert libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw)
        finally:
            libc.munmap(addr, size)


def _written_uncached(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return data


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore and O_DIRECT: Linux")
def test_the_check_after_an_open_leaves_the_page_cache_as_it_was(tmp_path, monkeypatch):
    """Paced, it reads past the page cache (O_DIRECT): a served index larger than memory
    keeps in the cache what its queries read, not what the check streamed through."""
    monkeypatch.setattr(integrity, "_CHUNK", 64 << 10)
    path = tmp_path / "MAIN_big.seg"
    for size in (3 * (64 << 10) + 123, 64 << 10, 1):  # chunks and a short end; one chunk; a byte
        data = _written_uncached(path, size)
        if _resident_pages(path):
            pytest.skip(f"{tmp_path}'s file system keeps written files in memory (tmpfs?)")
        assert integrity._hashed(path, rest=1e-6) == hashlib.sha256(data).hexdigest()
        assert _resident_pages(path) == 0
        # Not paced (check, an indexing run), it reads through the cache: the measure sees it.
        assert integrity._hashed(path) == hashlib.sha256(data).hexdigest()
        assert _resident_pages(path) == -(-size // mmap.PAGESIZE)


@pytest.mark.parametrize("where", ["open", "read"])
def test_the_check_after_an_open_reads_plainly_where_o_direct_is_refused(
    tmp_path, monkeypatch, where
):
    """A file system without O_DIRECT: EINVAL at the open (tmpfs on older kernels), or at
    the first read (the check would have called that damage)."""
    real_open = os.open

    def refusing(path, flags, *args):
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    def refusing_reads(fd, buffers, offset, *flags):
        raise OSError(errno.EINVAL, "Invalid argument")

    if where == "open":
        monkeypatch.setattr(integrity.os, "open", refusing)
    else:
        monkeypatch.setattr(integrity.os, "preadv", refusing_reads)
    monkeypatch.setattr(integrity, "_CHUNK", 4096)
    path = tmp_path / "MAIN_big.seg"
    data = os.urandom(3 * 4096 + 5)
    path.write_bytes(data)
    assert integrity._open_direct(path) == -1
    assert integrity._hashed(path, rest=1e-6) == hashlib.sha256(data).hexdigest()


def test_a_fresh_engine_paces_its_check_after_the_open(stamped, monkeypatch):
    paced = []
    real = storage.verify_trusted

    def verify_trusted(gen, names, stop=None, rest=0.0):
        paced.append(rest)
        return real(gen, names, stop, rest)

    monkeypatch.setattr("searchsvc.indexing.verify_trusted", verify_trusted)
    integrity._digests.clear()
    with Engine(stamped) as engine:
        assert engine.search(SearchRequest(q="turkmenistan")).total
        _until(lambda: bool(paced))
    assert paced == [Engine.CONFIRM_REST] and Engine.CONFIRM_REST >= 1


def test_damage_under_a_matching_stamp_falls_back_to_the_earlier_generation(rebuilt, monkeypatch):
    monkeypatch.setattr(integrity, "TRUST_OVER", 0)
    time.sleep(0.2)
    index_paths(rebuilt, [rebuilt.parent / "seeds"], procs=1)  # stamps renewed, not racy
    segment = _segment(rebuilt / "gen-000002")
    _rot(segment)
    with Engine(rebuilt, check_interval=0) as engine:
        assert engine.search(SearchRequest(q="zebra")).total == 1  # served on trust at first
        _until(lambda: engine.freshness().generation == "gen-000001")
        assert engine.search(SearchRequest(q="zebra")).total == 0
        warning = engine.freshness().warning
    assert str(segment) in warning and "serving the earlier gen-000001" in warning


@pytest.mark.parametrize("command", ["check", "index a new release"])
def test_check_and_a_writing_run_hash_every_file_whatever_its_stamp(stamped, runner, command):
    segment = _segment(storage.current_generation(stamped))
    _rot(segment)
    seeds = stamped.parent / "seeds"
    if command == "check":
        args = ["check"]
    else:
        (seeds / "zebra.md").write_text(ZEBRA, encoding="utf-8")
        args = ["index", str(seeds)]
    before = sorted(p.name for p in storage.current_generation(stamped).iterdir())
    result = runner.invoke(main, [*args, "--index-dir", str(stamped)])
    assert result.exit_code == 1
    assert str(segment) in result.output and "sha256" in result.output
    # Nothing was written: the damage was found before the run's writer opened.
    assert sorted(p.name for p in storage.current_generation(stamped).iterdir()) == before


def test_a_run_with_nothing_to_write_trusts_the_stamps(stamped, runner, monkeypatch):
    """No hash of the trusted files (nothing is merged or written), and nothing changes."""
    gen = storage.current_generation(stamped)
    integrity._digests.clear()  # as a process that never hashed them
    hashed = []
    real = integrity.file_digest
    monkeypatch.setattr(
        integrity, "file_digest", lambda path, rest=0.0: hashed.append(path) or real(path, rest)
    )
    result = runner.invoke(
        main, ["index", str(stamped.parent / "seeds"), "--index-dir", str(stamped)]
    )
    assert result.exit_code == 0, result.output
    assert "unchanged 5" in result.output
    assert [p.name for p in hashed] == [integrity.latest_toc(gen)[1]]  # the toc alone


def test_an_older_manifest_with_checksums_inside_is_read_and_moved(seeds_copy):
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    files = storage.read_checksums(gen)
    manifest = json.loads((gen / storage.MANIFEST).read_text(encoding="utf-8"))
    (gen / storage.MANIFEST).write_text(json.dumps({**manifest, "files": files}), "utf-8")
    (gen / storage.CHECKSUMS).unlink()  # as written before checksums.json
    assert storage.read_checksums(gen) == files and storage.verify_generation(gen).ok
    index_paths(ix, [seeds_copy / "seeds"], procs=1)
    assert "files" not in json.loads((gen / storage.MANIFEST).read_text(encoding="utf-8"))
    assert storage.read_checksums(gen) == files


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '{"files": [], "stamps": "x"}'])
def test_a_malformed_checksums_file_is_damage(seeds_copy, runner, text):
    # Taken for no listing, the next commit would list whatever the files hold now as
    # right: damage under it could never be found again.
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    (gen / storage.CHECKSUMS).write_text(text, encoding="utf-8")
    damage(_segment(gen), "overwritten")
    with pytest.raises(storage.IndexDamagedError, match="checksums.json"):
        storage.verify_generation(gen, trust_stamps=True)
    with Engine(ix) as engine, pytest.raises(storage.IndexDamagedError):
        engine.search(SearchRequest(q="turkmenistan"))
    checked = runner.invoke(main, ["check", "--index-dir", str(ix)])
    assert checked.exit_code == 1 and "checksums.json cannot be read" in checked.stderr
    with pytest.raises(storage.IndexDamagedError):
        index_paths(ix, [seeds_copy / "seeds"], procs=1)
    assert (gen / storage.CHECKSUMS).read_text(encoding="utf-8") == text  # nothing written
    index_paths(ix, [seeds_copy / "seeds"], procs=1, rebuild=True)  # the remedy
    assert storage.verify_generation(storage.current_generation(ix)).ok


def test_a_listing_of_no_files_leaves_them_unverified(seeds_copy):
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    (gen / storage.CHECKSUMS).write_text('{"files": {}}', encoding="utf-8")
    verdict = storage.verify_generation(gen, trust_stamps=True)
    assert verdict.ok and verdict.unverified and not verdict.trusted
    with Engine(ix) as engine:
        assert engine.search(SearchRequest(q="turkmenistan")).total == 5
    index_paths(ix, [seeds_copy / "seeds"], procs=1)  # the next run lists them again
    assert not storage.verify_generation(gen).unverified


def test_a_generation_that_lost_its_table_of_contents_is_damaged_not_absent(seeds_copy, runner):
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    for toc in gen.glob("*.toc"):
        toc.unlink()
    assert storage.current_generation(ix) == gen
    checked = runner.invoke(main, ["check", "--index-dir", str(ix)])
    assert checked.exit_code == 1 and "no table of contents" in checked.stderr
    (seeds_copy / "one").mkdir()
    shutil.copy(next((seeds_copy / "seeds").iterdir()), seeds_copy / "one")
    with pytest.raises(storage.IndexDamagedError, match="table of contents"):
        index_paths(ix, [seeds_copy / "one"], procs=1)  # before: an index of 1, 4 lost
    assert sorted(p.name for p in ix.glob("gen-*")) == [gen.name]


@pytest.mark.parametrize("how", ["removed", "dangling"])
def test_a_run_refuses_committed_generations_with_no_live_link(seeds_copy, runner, how):
    ix = seeds_copy / "ix"
    gen = storage.current_generation(ix)
    (ix / storage.CURRENT).unlink()
    if how == "dangling":
        (ix / storage.CURRENT).symlink_to("gen-999999")
    for command in ("search", "stats"):  # not "No index ... Run: searchsvc index"
        said = runner.invoke(
            main, [command, *(["x"] if command == "search" else [])] + ["--index-dir", str(ix)]
        )
        assert said.exit_code == 1 and f"ln -sfn {gen.name} " in said.stderr
    with pytest.raises(storage.IndexDamagedError, match=f"ln -sfn {gen.name} "):
        index_paths(ix, [seeds_copy / "seeds"], procs=1)
    assert sorted(p.name for p in ix.glob("gen-*")) == [gen.name]  # nothing removed
    index_paths(ix, [seeds_copy / "seeds"], procs=1, rebuild=True)  # or the link mended
    with Engine(ix) as engine:
        assert engine.search(SearchRequest(q="turkmenistan")).total == 5


def test_a_stamp_of_the_wrong_shape_is_not_trusted(stamped):
    gen = storage.current_generation(stamped)
    listing = json.loads((gen / storage.CHECKSUMS).read_text(encoding="utf-8"))
    segment = _segment(gen)
    listing["stamps"][segment.name] = ["1", 2, 3]
    (gen / storage.CHECKSUMS).write_text(json.dumps(listing), encoding="utf-8")
    integrity._digests.clear()
    verdict = storage.verify_generation(gen, trust_stamps=True)
    assert verdict.ok and segment.name not in verdict.trusted
    assert verdict.hashed_bytes >= segment.stat().st_size
