"""W3's bytes written from arrays: positions as Positions encodes them, and the terms file
as OrderedHashWriter writes it.

That a whole segment comes out as SegmentWriter writes it is tests/test_bulk.py's.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import formats
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashWriter

from searchsvc.indexing import w3blocks


@pytest.mark.parametrize("batches", [[3], [1, 1, 1], [70_000, 5]])
def test_the_terms_file_is_written_as_orderedhashwriters_add_writes_it(tmp_path, batches):
    # add_terms writes a field's records at once; past 65,535 bytes the index of record
    # positions needs a wider type, as GrowableArray gives it.
    rnd = random.Random(len(batches))
    keys = sorted({rnd.randbytes(rnd.randint(1, 12)) for _ in range(sum(batches))})
    values = [rnd.randbytes(rnd.randint(0, 40)) for _ in keys]
    storage = FileStorage(str(tmp_path)).create()
    one = OrderedHashWriter(storage.create_file("one"))
    for key, value in zip(keys, values, strict=True):
        one.add(key, value)
    one.close()
    many = OrderedHashWriter(storage.create_file("many"))
    done = 0
    for size in batches:
        w3blocks.add_terms(many, keys[done : done + size], values[done : done + size])
        done += size
    with pytest.raises(ValueError):
        w3blocks.add_terms(many, keys[:1], values[:1])  # keys must increase, as add() says
    many.close()
    assert (tmp_path / "many").read_bytes() == (tmp_path / "one").read_bytes()


@pytest.mark.parametrize("seed", range(5))
def test_positions_are_encoded_as_whoosh_encodes_them(seed):
    rnd = random.Random(seed)
    lists = [sorted(rnd.sample(range(200_000), rnd.choice((1, 2, 5, 999, 1000, 1001, 2500))))]
    lists += [sorted(rnd.sample(range(300), rnd.randint(1, 40))) for _ in range(200)]
    lists += [[0], [255], [256], [65535], [65536], [70_000, 140_001]]
    rnd.shuffle(lists)
    pos = np.array([p for positions in lists for p in positions], dtype=np.int64)
    blob, offsets = w3blocks.encode_positions(pos, np.array([len(p) for p in lists]))
    encode = formats.Positions().encode
    got = [blob[offsets[i] : offsets[i + 1]] for i in range(len(lists))]
    assert got == [encode(positions) for positions in lists]
