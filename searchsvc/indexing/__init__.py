"""Building the index: the directory's generations and lock, and the indexer.

    paths --reading--> Documents --indexer (under the writer lock)--> a Whoosh generation
    storage: which generation is live, the atomic swap, the manifest of sources

Whoosh's internals stay in two adapters, ``segments`` (reading) and ``writing``; the rest of
the package uses this face.
"""

from searchsvc.indexing.indexer import IndexReport, index_paths
from searchsvc.indexing.segments import (
    encoded_positions,
    length_column,
    length_of_byte,
    open_postings,
    posting_blocks,
    postings_key,
    read_all,
    reads_blocks,
)
from searchsvc.indexing.storage import (
    IndexLockedError,
    IndexNotFoundError,
    current_generation,
    open_index_at,
    writer_lock,
)

__all__ = [
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "current_generation",
    "encoded_positions",
    "length_column",
    "length_of_byte",
    "open_postings",
    "posting_blocks",
    "postings_key",
    "read_all",
    "reads_blocks",
    "index_paths",
    "open_index_at",
    "writer_lock",
]
