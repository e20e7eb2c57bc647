"""Matching and scoring with arrays: every document's score in one pass per query word.

    Whoosh query --walk the tree--> for each node, two arrays over all document numbers:
                                    which documents match, and their scores
    Term        -> its posting list (postings.py), scored by BM25
    title|body  -> a word asked of both fields: one BM25F score (bm25.py), counted as
                   often as the query repeats it
    Phrase      -> positions checked in phrases.py, scored by BM25 of the phrase's count
    Or -> any, scores added; And -> all, scores added; AndNot -> a where not b;
    Not -> all but; AndMaybe -> a, with b's score added where both
    anything else -> Whoosh's own matcher, for the set it matches

Whoosh ranks by walking a tree of matcher objects one posting at a time; on long releases
that is 50 ms for a two-word query and seconds for a long one. Here the work per word is a
few numpy operations over its posting list, so a 150-word query costs a few milliseconds
and the total and facet counts come from the same arrays. The request's deadline is
checked at every node and every word, so a query of 500 expanded words stops in time.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from whoosh import query as wq

from searchsvc.deadline import NEVER, Deadline
from searchsvc.scoring import bm25 as ranking
from searchsvc.scoring.phrases import PhraseError, phrase_frequencies
from searchsvc.scoring.postings import PostingCache, field_lengths

# A query's words asked of title and body, by (stem, repeats): their matches and scores.
_Words = dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]
# Fields whose lengths normalise BM25; other fields (year, source, ...) are short values.
LENGTH_FIELDS = ("title", "body", "exact")
# Document frequencies remembered per searcher (then forgotten all at once).
MAX_DFS = 200_000
# A phrase's candidates (_holding_all) read a word's whole list when it is at most this
# many times the rarest word's, or already in memory.
HOLDING_READ = 8


class Ranker:
    """Scores queries against one reader (one state of the index)."""

    def __init__(self, searcher):
        self.searcher = searcher
        reader = searcher.reader()
        self.reader = reader
        self.size = reader.doc_count_all()
        self.postings = PostingCache(reader)
        self._dfs: dict[str, int] = {}  # documents holding a word in title or body
        self._peaks: dict[tuple[str, str], tuple[float, int]] = {}  # see _peak_and_df
        live = max(reader.doc_count(), 1)
        self.norms = {}
        for name in LENGTH_FIELDS:
            avg = (reader.field_length(name) / live) or 1.0
            self.norms[name] = ranking.length_norm(field_lengths(reader, name), avg)

    def evaluate(
        self,
        q: wq.Query,
        deadline: Deadline | None = None,
        repeats: Mapping[str, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which documents q matches (bool array) and their scores (float array).

        `repeats` says how often the query text holds a word (by stem; the parser keeps
        each word once): such a word counts that many times. Past `deadline` (None: no
        deadline) it raises DeadlineExceededError.
        """
        return self._evaluate(q, deadline or NEVER, repeats or {}, {})

    def _evaluate(
        self, q: wq.Query, deadline: Deadline, repeats: Mapping[str, int], words: _Words
    ) -> tuple[np.ndarray, np.ndarray]:
        """evaluate's work; `words` keeps each word's arrays for this one query (_compound)."""
        deadline.check("ranking")
        if isinstance(q, wq.Term):
            match, score = self._term(q.fieldname, q.text)
        elif isinstance(q, (wq.Or, wq.And)):
            match, score = self._compound(q, deadline, repeats, words)
        elif isinstance(q, wq.AndNot):
            match, score = self._evaluate(q.a, deadline, repeats, words)
            match = match & ~self._evaluate(q.b, deadline, {}, words)[0]
            score = np.where(match, score, 0.0)
        elif isinstance(q, wq.AndMaybe):
            match, score = self._evaluate(q.a, deadline, repeats, words)
            score = score + np.where(match, self._evaluate(q.b, deadline, repeats, words)[1], 0.0)
        elif isinstance(q, wq.Not):
            match, score = ~self._evaluate(q.query, deadline, {}, words)[0], self._zeros()
        elif isinstance(q, wq.Phrase):
            match, score = self._phrase(q, deadline)
        elif isinstance(q, wq.Every):
            match, score = np.ones(self.size, dtype=bool), self._zeros()
        elif q is wq.NullQuery:
            match, score = np.zeros(self.size, dtype=bool), self._zeros()
        else:
            match, score = self._by_matcher(q)
        return match, score * q.boost if q.boost != 1.0 else score

    def _zeros(self) -> np.ndarray:
        return np.zeros(self.size, dtype=np.float64)

    def _compound(
        self, q: wq.Query, deadline: Deadline, repeats: Mapping[str, int], words: _Words
    ) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(q, wq.Or):
            asked, rest = _words(q.subqueries)
            parts = [self._word_once(w, deadline, repeats.get(w, 1), words) for w in asked]
            parts += [self._evaluate(sub, deadline, repeats, words) for sub in rest]
        else:
            parts = [self._evaluate(sub, deadline, repeats, words) for sub in q.subqueries]
        if not parts:
            return np.zeros(self.size, dtype=bool), self._zeros()
        # Added one part after another, in place: the same sums as np.sum(parts, axis=0)
        # (which adds row after row), without a copy of every part into one array first
        # (at 10x the corpus, 0.16 against 0.37 ms for four words; 0.5 against 2 for eight).
        (match, score), rest = parts[0], parts[1:]
        match, score = match.copy(), score.astype(np.float64)
        for _, s in rest:
            score += s
        if isinstance(q, wq.And):
            for m, _ in rest:
                match &= m
            return match, np.where(match, score, 0.0)
        for m, _ in rest:
            match |= m
        return match, score

    def field_word(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A term of one field: its matches and its BM25 score (as a Term node scores)."""
        return self._term(fieldname, text)

    def _term(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, tf = self.postings.get(fieldname, text)
        match, score = np.zeros(self.size, dtype=bool), self._zeros()
        if len(ids):
            match[ids] = True
            norm = self.norms[fieldname][ids] if fieldname in self.norms else 1.0
            score[ids] = ranking.bm25(tf / norm, self._idf(len(ids), fieldname, text))
        return match, score

    def _idf(self, df: int, fieldname: str, text: str) -> float:
        if fieldname in ranking.SHARED_DF_FIELDS:
            df = max(self.reader.doc_frequency(f, text) for f in ranking.SHARED_DF_FIELDS)
        return ranking.idf(self.size, df)

    def _word_once(
        self, text: str, deadline: Deadline, repeats: int, words: _Words
    ) -> tuple[np.ndarray, np.ndarray]:
        """_word, kept for the rest of the query: a query of several words asks each twice,
        in its all-words clause and in its any-word clause (query.py). The arrays kept are
        never changed: _compound adds into copies."""
        found = words.get((text, repeats))
        if found is None:
            found = words[text, repeats] = self._word(text, deadline, repeats)
        return found

    def _word(
        self, text: str, deadline: Deadline, repeats: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """A word asked of title and body: one saturated score over both fields."""
        return self.word(text, ranking.query_weight(repeats), deadline)

    def word(
        self, text: str, factor: float = 1.0, deadline: Deadline | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A word (stem) of title and body: its matches, its BM25F score x idf x factor."""
        (deadline or NEVER).check("ranking")
        t_ids, t_tf = self.postings.get("title", text)
        b_ids, b_tf = self.postings.get("body", text)
        match = np.zeros(self.size, dtype=bool)
        match[t_ids] = True
        match[b_ids] = True
        ids = np.flatnonzero(match)
        df = self._dfs.get(text)
        if df is None:
            df = self._remember_df(text, len(ids))
        # Scored at the documents holding the word only (the same operations, element by
        # element): a rare word then costs what its postings do, not a pass per operation.
        title_at, body_at = _places(ids, t_ids, b_ids, match)
        title, body = np.zeros(len(ids)), np.zeros(len(ids))
        title[title_at] = t_tf / self.norms["title"][t_ids]
        body[body_at] = b_tf / self.norms["body"][b_ids]
        weight = ranking.idf(self.size, df) * factor
        score = self._zeros()
        score[ids] = ranking.word_score(title, body, weight)
        return match, score

    def field_word_at(self, fieldname: str, text: str, ids: np.ndarray) -> np.ndarray:
        """field_word's score at the document numbers ids (sorted): the same operations,
        at a binary search per document instead of a pass over every document."""
        found, tf = _at(self.postings.near(fieldname, text, ids), ids, self.size)
        score = np.zeros(len(ids), dtype=np.float64)
        if len(found):
            hit = ids[found]
            norm = self.norms[fieldname][hit] if fieldname in self.norms else 1.0
            df = self._peak_and_df(fieldname, text)[1]
            score[found] = ranking.bm25(tf / norm, self._idf(df, fieldname, text))
        return score

    def field_word_bound(self, fieldname: str, text: str) -> float:
        """At least field_word's highest score (MaxScore's per-word bound)."""
        peak, df = self._peak_and_df(fieldname, text)
        if not df:
            return 0.0
        weight = self._idf(df, fieldname, text)
        return float(ranking.bm25(np.array([peak]), weight)[0])

    def word_at(self, text: str, ids: np.ndarray, factor: float = 1.0) -> np.ndarray:
        """word()'s score at the document numbers ids (sorted), by the same operations.

        Scored at the ids that hold the word only, as word() scores its holders only (the
        score of no frequency is 0): feedback's rare words among a common word's hundred
        thousand candidates at 10x the corpus cost their holders, not the candidates. Past
        half the documents, word() itself is read at ids: a pass over every document is
        then cheaper than a lookup of each candidate (the same values).
        """
        if len(ids) * 2 > self.size:
            return self.word(text, factor)[1][ids]
        t_found, t_tf = _at(self.postings.near("title", text, ids), ids, self.size)
        b_found, b_tf = _at(self.postings.near("body", text, ids), ids, self.size)
        holders = t_found | b_found
        place = np.cumsum(holders) - 1  # each id's place among the holders
        held = int(place[-1]) + 1 if len(place) else 0
        title, body = np.zeros(held), np.zeros(held)
        title[place[t_found]] = t_tf / self.norms["title"][ids[t_found]]
        body[place[b_found]] = b_tf / self.norms["body"][ids[b_found]]
        weight = ranking.idf(self.size, self.word_df(text)) * factor
        score = np.zeros(len(ids))
        score[holders] = ranking.word_score(title, body, weight)
        return score

    def word_bound(self, text: str, factor: float = 1.0) -> float:
        """At least word()'s highest score with this factor (MaxScore's per-word bound)."""
        df = self.word_df(text)
        if not df:
            return 0.0
        title, body = self._peak("title", text), self._peak("body", text)
        weight = ranking.idf(self.size, df) * factor
        return float(ranking.word_score(np.array([title]), np.array([body]), weight)[0])

    def _peak(self, fieldname: str, text: str) -> float:
        """The word's highest length-normalised frequency in the field (0 if none holds it)."""
        return self._peak_and_df(fieldname, text)[0]

    def _peak_and_df(self, fieldname: str, text: str) -> tuple[float, int]:
        """_peak, and how many postings the word has in the field: kept per searcher, so a
        bound asked again reads no posting list (at 10x the corpus, lists outgrow the cache)."""
        key = (fieldname, text)
        found = self._peaks.get(key)
        if found is None:
            ids, tf = self.postings.get(fieldname, text)
            norm = self.norms[fieldname][ids] if fieldname in self.norms else 1.0
            found = (float(np.max(tf / norm)) if len(ids) else 0.0, len(ids))
            if len(self._peaks) >= MAX_DFS:
                self._peaks.clear()
            self._peaks[key] = found
        return found

    def word_idfs(self, words, deadline: Deadline | None = None) -> dict[str, float]:
        """The idf of each word asked of title and body that some document holds."""
        deadline = deadline or NEVER
        out = {}
        for word in words:
            deadline.check("proximity")
            df = self.word_df(word)
            if df:
                out[word] = ranking.idf(self.size, df)
        return out

    def word_df(self, word: str) -> int:
        """How many documents hold the word in title or body (counted once per searcher)."""
        df = self._dfs.get(word)
        if df is None:
            t_ids, _ = self.postings.get("title", word)
            b_ids, _ = self.postings.get("body", word)
            # A mask over all documents: a few microseconds, where a union of sorted ids
            # of a common word costs tens of milliseconds at 10x the corpus.
            seen = np.zeros(self.size, dtype=bool)
            seen[t_ids] = True
            seen[b_ids] = True
            df = self._remember_df(word, int(np.count_nonzero(seen)))
        return df

    def _remember_df(self, word: str, df: int) -> int:
        """Keep a word's document frequency, the store bounded by MAX_DFS words."""
        if len(self._dfs) >= MAX_DFS:
            self._dfs.clear()
        self._dfs[word] = df
        return df

    def _phrase(self, q: wq.Phrase, deadline: Deadline) -> tuple[np.ndarray, np.ndarray]:
        try:
            ids, freq = phrase_frequencies(
                self.reader,
                q.fieldname,
                list(q.words),
                q.slop,
                deadline,
                self._holding_all(q.fieldname, q.words)
                if q.fieldname in self.reader.schema
                else None,
                files=self.postings.files,
            )
        except PhraseError:  # a field without positions holds no phrase
            return np.zeros(self.size, dtype=bool), self._zeros()
        match, score = np.zeros(self.size, dtype=bool), self._zeros()
        if len(ids):
            match[ids] = True
            norm = self.norms[q.fieldname][ids] if q.fieldname in self.norms else 1.0
            weight = sum(
                ranking.idf(self.size, self.reader.doc_frequency(q.fieldname, w)) for w in q.words
            )
            score[ids] = ranking.bm25(freq / norm, weight)
        return match, score

    def _holding_all(self, fieldname: str, words) -> np.ndarray:
        """The documents whose field holds every word (sorted), or a few more: from the
        rarest word's postings, narrowed by the other words' lists that are in memory or
        at most HOLDING_READ times as long (a stop word's list, read whole, cost what the
        phrase's own reading does, and narrowed little)."""
        dfs = {w: self.reader.doc_frequency(fieldname, w) for w in set(words)}
        rarest = min(dfs.values(), default=0)
        lists = sorted(
            (
                self.postings.get(fieldname, w)[0]
                for w, df in dfs.items()
                if df <= HOLDING_READ * rarest or self.postings.cached(fieldname, w)
            ),
            key=len,
        )
        found = lists[0] if lists else np.zeros(0, dtype=np.int64)
        seen = np.zeros(self.size, dtype=bool)
        for ids in lists[1:]:
            if not len(found):
                break
            seen[:] = False
            seen[ids] = True
            found = found[seen[found]]
        return found

    def _by_matcher(self, q: wq.Query) -> tuple[np.ndarray, np.ndarray]:
        # Ranges and other rare nodes: the documents Whoosh finds, each scoring 1.
        match = np.zeros(self.size, dtype=bool)
        ids = list(q.matcher(self.searcher, self.searcher.boolean_context()).all_ids())
        match[np.asarray(ids, dtype=np.int64)] = True
        return match, match.astype(np.float64)


# Past this share of the documents on each side, _at looks ids up in a table of every
# document rather than by binary search.
DENSE_SHARE = 1 / 32


def _places(ids: np.ndarray, t_ids: np.ndarray, b_ids: np.ndarray, match: np.ndarray):
    """Where the sorted t_ids and b_ids fall among ids, their union (match: its mask).

    Where the body's holders include the title's, ids is b_ids: a binary search of the
    title holders. Where the holders are few, binary searches of both. Otherwise (a common
    word, some of whose titles hold it and bodies not) a running count over every document
    (the rank of each in match), counted in int32: at 10x the corpus 0.2 to 0.4 ms a word,
    where numpy's default int64 count of a boolean mask took 1.4 to 2 ms and was 8% of a
    new served worker's time (py-spy).
    """
    if len(ids) == len(b_ids):
        return np.searchsorted(ids, t_ids), slice(None)
    if len(ids) == len(t_ids):
        return slice(None), np.searchsorted(ids, b_ids)
    if len(ids) < len(match) * DENSE_SHARE:
        return np.searchsorted(ids, t_ids), np.searchsorted(ids, b_ids)
    at = np.cumsum(match, dtype=np.int32)  # each holder's place among ids, plus one
    return at[t_ids] - 1, at[b_ids] - 1


def _at(postings: tuple[np.ndarray, np.ndarray], ids: np.ndarray, size: int = 0):
    """Which of the sorted document numbers ids the postings hold (a mask), and their tf.

    size (the reader's documents; 0: unknown): where both ids and the postings are many, a
    table of each document's place in the postings is filled and read at ids, two passes
    over memory in order, where a binary search per id cost milliseconds at 10x the corpus
    (a common query's candidates against a feedback word's postings). The same result.
    """
    found_ids, tf = postings
    if not len(found_ids) or not len(ids):
        return np.zeros(len(ids), dtype=bool), tf[:0]
    if size and min(len(ids), len(found_ids)) > size * DENSE_SHARE:
        place = np.full(size, -1, dtype=np.int32)
        place[found_ids] = np.arange(len(found_ids), dtype=np.int32)
        where = place[ids]
        found = where >= 0
        return found, tf[where[found]]
    if len(found_ids) < len(ids):  # each posting looked for among ids: the fewer searches
        where = np.searchsorted(ids, found_ids)
        held = where < len(ids)
        held[held] = ids[where[held]] == found_ids[held]
        found = np.zeros(len(ids), dtype=bool)
        found[where[held]] = True
        return found, tf[held]  # in the order of ids: both are ascending
    where = np.minimum(np.searchsorted(found_ids, ids), len(found_ids) - 1)
    found = found_ids[where] == ids
    return found, tf[where[found]]


def _words(subqueries) -> tuple[list[str], list[wq.Query]]:
    """Split an Or's children into words asked of title and body, and the rest.

    The parser asks a word of both fields as Term(title, w) | Term(body, w), and flattens
    those pairs into one Or with the other words; a pair scores as one word (BM25F).
    """
    fields: dict[str, set[str]] = {}
    for sub in subqueries:
        if _plain_term(sub):
            fields.setdefault(sub.text, set()).add(sub.fieldname)
    words = [w for w, found in fields.items() if found == set(ranking.SHARED_DF_FIELDS)]
    paired = set(words)
    rest = [sub for sub in subqueries if not (_plain_term(sub) and sub.text in paired)]
    return words, rest


def _plain_term(q: wq.Query) -> bool:
    return isinstance(q, wq.Term) and q.boost == 1.0 and q.fieldname in ranking.SHARED_DF_FIELDS


def top(match: np.ndarray, keys: np.ndarray, count: int, descending: bool = True) -> np.ndarray:
    """The document numbers of the first `count` matches by key, ties by document number."""
    ids = np.flatnonzero(match)
    values = keys[ids]
    if len(ids) > count:
        # Keep everything tied with the count-th best, so ties resolve by number below.
        cut = len(ids) - count if descending else count - 1
        edge = np.partition(values, cut)[cut]
        keep = values >= edge if descending else values <= edge
        ids, values = ids[keep], values[keep]
    order = np.lexsort((ids, -values if descending else values))
    return ids[order[:count]]
