"""The OpenSearch backend: searchsvc on a cluster, for those who outgrow one machine.

    OpenSearchOptions (url, alias, credentials, shards) --OpenSearchBackend--> the Backend protocol
    cluster: the client and bounded calls; writing: indexing (bulk.py: batches and retries;
    stories.py: groups of copies); names: name variants and also try
    mapping: the analysers (mirroring searchsvc.analysis), the versioned mapping, sources
    translate: the parsed query (searching's parser) as OpenSearch's query DSL

The same readers, query language, page, API, CLI, feed and export run over it unchanged:
the edges only know the Backend protocol (searching/backend.py).
"""

from searchsvc.opensearch.backend import OpenSearchBackend
from searchsvc.opensearch.cluster import OpenSearchOptions
from searchsvc.opensearch.mapping import MAPPING_VERSION

__all__ = ["MAPPING_VERSION", "OpenSearchBackend", "OpenSearchOptions"]
