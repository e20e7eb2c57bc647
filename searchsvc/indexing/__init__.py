"""Building the index: the directory's generations and lock, and the indexer.

    paths --reading--> Documents --indexer (under the writer lock)--> a Whoosh generation
    storage: which generation is live, the atomic swap, the manifest of sources
    forward: each segment's openings as stem ids (MAIN_<segment>.fwd), written with it, read
        by proximity and feedback through ForwardIndex
    docvalues: each segment's facet codes, date keys and signatures as arrays
        (MAIN_<segment>.docvalues), written with it, read by FacetTable and DuplicateTable
    postfile: each segment's posting lists as arrays (MAIN_<segment>.postings), written with it,
        read by the ranker through PostingFiles

Whoosh's internals stay in two adapters, ``segments`` (reading) and ``writing``; the rest of
the package uses this face.
"""

from pathlib import Path

from searchsvc.indexing.deletions import DeleteGuard, DeleteRefusedError
from searchsvc.indexing.docvalues import (
    FacetCodes,
    SegmentValues,
    date_key,
    key_date,
    live_mask,
    segment_values,
)
from searchsvc.indexing.forward import SCAN_CHARS, ForwardIndex, Opening, opening, opening_stems
from searchsvc.indexing.indexer import IndexReport, index_paths
from searchsvc.indexing.integrity import latest_toc, toc_name
from searchsvc.indexing.postfile import PostingFiles, TermPositions
from searchsvc.indexing.segments import (
    column_values,
    decode_positions,
    encoded_positions,
    flatten,
    inflate_stored_fields_by_isal,
    leaf_segments,
    length_column,
    length_of_byte,
    numeric_array,
    open_postings,
    posting_arrays,
    posting_blocks,
    postings_key,
    read_all,
    reader_folder,
    reads_blocks,
)
from searchsvc.indexing.storage import (
    REBUILD_HINT,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    current_generation,
    damaged_error,
    drop_half_open,
    earlier_generations,
    not_found_error,
    open_for_search,
    open_index_at,
    verify_generation,
    verify_trusted,
    writer_lock,
)


def forward_index(gen: Path, reader) -> ForwardIndex:
    """The forward index of a reader's segments in generation gen (files opened as needed)."""
    return ForwardIndex(gen, leaf_segments(reader))


def posting_files(reader) -> PostingFiles | None:
    """The posting files of a reader's segments (opened as needed), None if not in a folder."""
    folder = reader_folder(reader)
    return None if folder is None else PostingFiles(folder, leaf_segments(reader))


__all__ = [
    "FacetCodes",
    "SegmentValues",
    "date_key",
    "key_date",
    "live_mask",
    "segment_values",
    "SCAN_CHARS",
    "ForwardIndex",
    "Opening",
    "forward_index",
    "posting_files",
    "PostingFiles",
    "TermPositions",
    "decode_positions",
    "flatten",
    "inflate_stored_fields_by_isal",
    "leaf_segments",
    "opening",
    "opening_stems",
    "REBUILD_HINT",
    "DeleteGuard",
    "DeleteRefusedError",
    "IndexDamagedError",
    "damaged_error",
    "drop_half_open",
    "earlier_generations",
    "latest_toc",
    "toc_name",
    "not_found_error",
    "verify_generation",
    "verify_trusted",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "column_values",
    "current_generation",
    "encoded_positions",
    "length_column",
    "numeric_array",
    "length_of_byte",
    "open_postings",
    "posting_arrays",
    "posting_blocks",
    "postings_key",
    "read_all",
    "reads_blocks",
    "index_paths",
    "open_for_search",
    "open_index_at",
    "writer_lock",
]
