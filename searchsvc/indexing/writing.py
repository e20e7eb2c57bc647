"""Writing a Whoosh index below its public API: the one module that knows how (writing side).

    Document --to_fields--> a row of the schema's fields
    a new generation --create_index--> an empty Whoosh index
    open_writer / worker_writer --add documents--> finish_worker_segment, commit(writer, segments)
    a segment this writer finishes (its documents and any it merged in) --its stored title
        and body--> its forward file (forward.py), --its postings, block by block--> its
        posting file (postfile.py), --its columns--> its doc values (docvalues.py), all
        before the table of contents names it

Several processes build segments of one commit (see indexer.py): each worker finalises a
segment of its own with a SegmentWriter that takes no lock, and the parent commits them
with its own in one table of contents, as Whoosh's MpWriter does. That needs Whoosh's
private writer methods, listed in PRIVATE_NAMES; tests/test_whoosh_adapters.py fails,
naming the missing one, if the pinned Whoosh changes them.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from searchsvc import minhash
from searchsvc.indexing import docvalues, forward, postfile
from searchsvc.indexing.segments import field_postings
from searchsvc.reading import Document
from searchsvc.schema import FACETS, build_schema, join_values

PRIVATE_NAMES = (
    ("whoosh.writing.SegmentWriter", "_added"),
    ("whoosh.writing.SegmentWriter", "_finalize_segment"),
    ("whoosh.writing.SegmentWriter", "_close_segment"),
    ("whoosh.writing.SegmentWriter", "_merge_segments"),
    ("whoosh.writing.SegmentWriter", "_commit_toc"),
    ("whoosh.writing.SegmentWriter", "_finish"),
)

# Whoosh zlib-compresses each term's block of postings. In a segment of a few documents
# nearly every block holds one or two postings, and setting zlib up for each (~60 us)
# was half the commit of 50 new releases. Blocks record their own compression, so any
# reader reads both kinds. Runs that read many files keep Whoosh's default.
SMALL_SEGMENT_CODEC = W3Codec(compression=0)

LIMIT_MB = 256

# False writes no near-duplicate signatures: for measuring what they cost (bench/duplicates.py).
SIGNATURES = True


def create_index(gen: Path, schema):
    """An empty Whoosh index in the generation directory gen."""
    return whoosh_index.create_in(str(gen), schema)


def open_writer(ix, codec=None, timeout: float = 5.0):
    """The index's writer (Whoosh's lock, waited for up to timeout seconds)."""
    return ix.writer(limitmb=LIMIT_MB, timeout=timeout, codec=codec)


def has_added(writer) -> bool:
    """Whether documents were added to the writer."""
    return bool(writer._added)


def worker_writer(ix):
    """A writer of one segment for a worker process: no lock, committed by the parent."""
    return SegmentWriter(ix, _lk=False, limitmb=LIMIT_MB)


def finish_worker_segment(ix, writer):
    """The worker's finished segment, or None (its files removed) if it added nothing."""
    if not writer._added:
        # Not writer.cancel(): it would remove the temporary folder (MAIN.tmp) that every
        # writer of the index shares, under a worker still assembling its segment there.
        writer._close_segment()
        remove_segment_files(ix, writer.newsegment)
        return None
    return _with_forward(writer, writer._finalize_segment())


def _with_forward(writer, segment):
    """The finished segment, its forward file written from its stored text, its posting
    file from its postings and its doc values from its columns.

    Rebuilt from what was written rather than gathered as documents come: a merge adds the
    documents of the segments it replaces, and their stored text and postings are what a
    search reads.
    """
    reader = SegmentReader(writer.storage, writer.schema, segment)
    try:
        rows = (reader.stored_fields(n) for n in range(segment.doc_count_all()))
        forward.build(writer.storage.folder, segment.segment_id(), _openings(rows))
        docvalues.write(docvalues.from_columns(reader), writer.storage.folder, segment.segment_id())
        postings = postfile.Builder(segment.doc_count_all())
        for name in postfile.FIELDS:
            if name in writer.schema:
                postings.add_postings(name, field_postings(reader, name))
        postings.write(writer.storage.folder, segment.segment_id())
    finally:
        reader.close()
    return segment


def _openings(rows):
    for stored in rows:
        yield stored.get("title", ""), stored.get("body", "")


def remove_segment_files(ix, segment) -> None:
    """Remove the files of a segment that no table of contents names."""
    for name in segment.list_files(ix.storage):
        with contextlib.suppress(OSError):
            ix.storage.delete_file(name)


def remove_unreferenced(ix) -> None:
    """Remove what a failed run left in the index folder: every segment file the table of
    contents on disk does not name (a half-written segment, the workers' finished ones),
    and the writers' temporary folder.

    Whoosh does the same after each commit it completes (clean_files); a commit that fails
    (a full disk) leaves them, and a later run that changes nothing commits nothing.
    """
    storage = ix.storage
    try:
        toc = whoosh_index.TOC.read(storage, ix.indexname, schema=ix.schema)
    except Exception:  # noqa: BLE001 - no table of contents to go by: remove nothing
        return
    whoosh_index.clean_files(storage, ix.indexname, toc.generation, toc.segments)
    shutil.rmtree(Path(storage.folder) / f"{ix.indexname}.tmp", ignore_errors=True)


def abandon(writer) -> None:
    """Give up a writer whose commit failed halfway: cancel it, and release its lock even
    if cancelling fails too (a long-running watcher must be able to write again)."""
    with contextlib.suppress(Exception):
        writer.cancel()
    if getattr(writer, "writelock", None) is not None:
        with contextlib.suppress(Exception):
            writer.writelock.release()


def commit(writer, segments: list) -> None:
    """Commit the writer, with segments that workers built, in one new table of contents.

    The writer's own segment (the documents added to it and those of the small segments
    its merge policy folded in) gets its forward file before the table of contents.
    """
    # SegmentWriter.commit(), with the workers' segments added (as MpWriter does).
    final = writer._merge_segments(None, None, None) + segments
    if writer._added:
        final.append(_with_forward(writer, writer._finalize_segment()))
    else:
        writer._close_segment()
    writer._commit_toc(final)
    writer._finish()


def add_document(writer, doc: Document) -> None:
    """Add a document's fields to a writer; fields the index's schema lacks (an index
    written by an older version, before its --rebuild) are left out."""
    fields = to_fields(doc)
    schema = writer.schema
    # "_stored_X" is Whoosh's name for what X stores (a multi-valued facet's list).
    kept = {k: v for k, v in fields.items() if k.removeprefix("_stored_") in schema}
    writer.add_document(**kept)


def add_fields(ix, names: list[str]) -> None:
    """Add the schema's fields of these names to an existing index (one commit)."""
    schema = build_schema()
    writer = open_writer(ix)
    for name in names:
        writer.add_field(name, schema[name])
    commit(writer, [])


def to_fields(doc: Document) -> dict[str, object]:
    """The field values Whoosh indexes for a document.

    Each declared facet (schema.FACETS) reads the Document's attribute of its name; a
    multi-valued one is indexed as its values joined by newlines and stored as their list
    (the column joins them too: schema.MultiText).
    """
    fields: dict[str, object] = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "exact": f"{doc.title}\n{doc.body}",
        "url": doc.url,
        "path": doc.path,
        "hash": doc.hash,
    }
    for facet in FACETS:
        if facet.timeline:
            continue
        value = getattr(doc, facet.name)
        if facet.multi_valued:
            values = list(dict.fromkeys(v for v in value if v))  # as given, each once
            fields[facet.name] = join_values(values)
            fields[f"_stored_{facet.name}"] = values
        else:
            fields[facet.name] = value
    if SIGNATURES:
        fields["minhash"] = minhash.signature(doc.body or doc.title)
    if doc.date is not None:
        fields["date"] = doc.date
        fields["year"] = f"{doc.date.year:04d}"
        fields["month"] = f"{doc.date.year:04d}-{doc.date.month:02d}"
    return fields
