"""Reading releases: finding source files, and turning each into Documents.

    paths --discover--> SourceFiles (and Skipped: what cannot be read, and why)
    SourceFile --read_source--> Documents (.txt seeds, Markdown with front matter, JSON Lines)
    folders --Watcher--> batches of changed paths, once a burst has settled (watch)

Nothing here knows about the index; a bad file is reported and skipped, never fatal.
"""

from searchsvc.reading.discovery import Skipped, SourceFile, discover, doc_id, printable
from searchsvc.reading.documents import (
    MAX_FACET_VALUE,
    Document,
    DocumentError,
    parse_jsonl_line,
    read_source,
    shown_title,
)
from searchsvc.reading.release_text import reflow
from searchsvc.reading.watch import Batch, Timings, Watcher, stat_key

__all__ = [
    "MAX_FACET_VALUE",
    "Batch",
    "Timings",
    "Watcher",
    "Document",
    "DocumentError",
    "Skipped",
    "SourceFile",
    "discover",
    "doc_id",
    "parse_jsonl_line",
    "printable",
    "read_source",
    "reflow",
    "shown_title",
    "stat_key",
]
