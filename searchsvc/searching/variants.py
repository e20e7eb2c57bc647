"""Names spelled many ways: groups of spellings searched together, read from data files.

    files (variants.txt: a group a line; people.yaml, organisations.yaml: canonical name ->
        its variant spellings) --read again when a file's size or modification time changes,
        looked at (a stat a file) at most once every check_interval seconds--> Variants
    parsed query --expand, before prefix*, wildcards and fuzzy~ are expanded--> each word
        (a term of title, body, exact or place) and each run of a phrase's words that is a
        spelling --> an OR of it and every other spelling of its groups that the index holds
        --> the query to run, and the spellings it also searched ("also searched: Ashgabat")

Only what is being looked for is widened: a NOT clause, a prefix*, a wildcard and a fuzzy~
word are left as typed, and so are field names and operators (the expansion rewrites parsed
terms, never query text). A spelling of several words ("Alma-Ata") is searched as a phrase.
A spelling that holds the one typed is left out of a word's OR (any release with "Serdar
Berdimuhamedov" has "Berdimuhamedov"), and one that the typed run of a phrase holds is left
out of a phrase (``"Serdar Berdimuhamedov"`` does not widen to every Berdimuhamedov).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice, product
from pathlib import Path

import yaml
from whoosh import query as wq

from searchsvc.analysis import WORD_RE, exact_term, stem_term

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent.parent / "data"
# The shipped lists: our variants, and the entity lists (canonical name -> variants).
BUILTIN = "builtin"
BUILTIN_FILES = (DATA / "variants.txt", DATA / "people.yaml", DATA / "organisations.yaml")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_PHRASES = 32  # phrases one quoted phrase may become
STEMMED = ("title", "body")  # fields whose terms are stems
Frequency = Callable[[str, str], int]  # (field, term) -> how many documents hold it
EXPANDED = (*STEMMED, "exact", "place")

Words = tuple[str, ...]  # a spelling as the exact field reads it: folded words


@dataclass(frozen=True)
class Spelling:
    """One way of writing a name: as written in the file, and as the exact field reads it."""

    text: str
    words: Words


@dataclass
class Variants:
    """The groups of one reading of the files: each spelling's alternatives, by its terms."""

    version: int = 0
    problems: tuple[str, ...] = ()
    spellings: dict[Words, dict[Words, Spelling]] = field(default_factory=dict)
    by_stems: dict[Words, set[Words]] = field(default_factory=dict)  # stems -> spellings
    longest: int = 0  # words in the longest spelling

    def add(self, texts: Iterable[str]) -> None:
        """Add a group: every spelling in it stands for every other."""
        group = {}
        for text in texts:
            words = tuple(exact_term(w) for w in WORD_RE.findall(text))
            if words and words not in group:
                group[words] = Spelling(text.strip(), words)
        if len(group) < 2:
            return
        for words in group:
            self.spellings.setdefault(words, {}).update(group)
            stems = tuple(s for s in map(stem_term, words) if s is not None)
            if stems:
                self.by_stems.setdefault(stems, set()).add(words)
            self.longest = max(self.longest, len(words))

    def lookup(self, fieldname: str, terms: Words) -> tuple[set[Words], list[Spelling]]:
        """The spellings a run of a field's terms is, and every spelling of their groups."""
        typed = self.by_stems.get(terms, set()) if fieldname in STEMMED else {terms}
        found: dict[Words, Spelling] = {}
        for words in typed:
            found.update(self.spellings.get(words, {}))
        return {w for w in typed if w in self.spellings}, list(found.values())

    def expansion(
        self, reader, text: str | None = None, frequency: Frequency | None = None
    ) -> Expansion:
        """A fresh expansion of one query against one reader (it records what it added).

        `text`, the query as typed, lets an acronym of the lists (UN, ECO) stand for its
        group only when typed in capitals; without it, in any case. `frequency(field,
        term)`: how many documents hold a term (the speller's, cached and read from the
        posting files); without it, the reader is asked.
        """
        return Expansion(self, reader, text, frequency)


class VariantTable:
    """The variants of a list of files, read again when one changes (see the module doc)."""

    def __init__(self, sources: Sequence[str | Path] = (BUILTIN,), check_interval: float = 1.0):
        self.paths = resolve(sources)
        self.check_interval = check_interval
        self._variants = Variants()
        self._signature: tuple | None = None
        self._checked = -float("inf")
        self._lock = threading.Lock()

    def current(self) -> Variants:
        """The variants as the files now say, read again if one changed since last read."""
        if time.monotonic() - self._checked < self.check_interval:
            return self._variants
        with self._lock:
            if time.monotonic() - self._checked >= self.check_interval:
                signature = tuple(_stat(p) for p in self.paths)
                if signature != self._signature:
                    self._variants = load(self.paths, self._variants.version + 1)
                    self._signature = signature
                self._checked = time.monotonic()
        return self._variants


def resolve(sources: Sequence[str | Path]) -> list[Path]:
    """The files sources name, ``builtin`` standing for the shipped lists."""
    paths: list[Path] = []
    for source in sources:
        if str(source) == BUILTIN:
            paths.extend(BUILTIN_FILES)
        elif str(source).strip():
            paths.append(Path(source).expanduser())
    return paths


def load(paths: Sequence[Path], version: int = 1) -> Variants:
    """Read every file into one Variants; a file that cannot be read is a problem, logged."""
    variants, problems = Variants(version=version), []
    for path in paths:
        try:
            for group in read_groups(path):
                variants.add(group)
        except FileNotFoundError:
            if path not in BUILTIN_FILES:  # a shipped list may not exist yet
                problems.append(f"{path}: no such file")
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.append(f"{path}: {str(exc).splitlines()[0][:200]}")
    for problem in problems:
        log.warning("name variants not read from %s", problem)
    variants.problems = tuple(problems)
    return variants


def read_groups(path: Path) -> list[list[str]]:
    """The groups of spellings in a file: .yaml/.yml a mapping, anything else a line each."""
    with path.open("rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
    text = raw.decode("utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_groups(text)
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [line.split(",") for line in lines if line.strip()]


# A spelling that opens with a title ("President Biden", "Dr. Biden", "Prime Minister
# Johnson") tells the recogniser whom a release names; it is no other way to write the name,
# and searched as a phrase of common words it cost every query that typed it (a served
# search's p95 at 10x the White House corpus: 29 -> 46 ms).
_TITLE = re.compile(
    r"(?:President|Vice President|Prime Minister|Secretary|Chancellor|First Lady|Second Lady"
    r"|Dr|Mrs|Mr|Ms|King|Queen|Crown Prince|Ayatollah|Sir)\.?\s",
)


def _yaml_groups(text: str) -> list[list[str]]:
    data = yaml.safe_load(text)
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ValueError("expected a mapping of canonical names to lists of spellings")
    groups = []
    for name, spellings in data.items():
        if isinstance(spellings, str):
            spellings = [spellings]
        elif not isinstance(spellings, list):
            spellings = []
        named = (str(s) for s in spellings if s is not None)
        groups.append([str(name), *(s for s in named if not _TITLE.match(s.strip()))])
    return groups


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Expansion:
    """One query's expansion: the widened query, and the spellings it added, in order."""

    def __init__(
        self,
        variants: Variants,
        reader,
        text: str | None = None,
        frequency: Frequency | None = None,
    ):
        self.variants = variants
        self.reader = reader
        self.text = text
        self.frequency: Frequency = frequency or reader.doc_frequency
        self.searched: dict[Words, str] = {}  # spellings added, as written
        self._typed: set[Words] = set()
        self.widened: set[str] = set()  # folded words typed that other spellings were added to

    @property
    def also_searched(self) -> list[str]:
        """The spellings searched beside the typed ones, as the files write them."""
        return [text for words, text in self.searched.items() if words not in self._typed]

    @property
    def words(self) -> set[str]:
        """Every folded word of the spellings searched, typed or added."""
        return {w for words in (*self.searched, *self._typed) for w in words}

    def expand(self, q: wq.Query) -> wq.Query:
        """q with each word and phrase run that is a known spelling ORed with the others."""
        if not self.variants.spellings:
            return q
        return self._walk(q)

    def _walk(self, q: wq.Query) -> wq.Query:
        if isinstance(q, wq.Not):
            return q  # an excluded word is excluded as typed
        if isinstance(q, wq.AndNot):
            kept = wq.AndNot(self._walk(q.a), q.b)
            kept.boost = q.boost
            return kept
        if isinstance(q, wq.Term) and q.fieldname in EXPANDED:
            return self._term(q)
        if isinstance(q, wq.Phrase) and q.fieldname in EXPANDED:
            return self._phrase(q)
        if q.children():
            return q.apply(self._walk)
        return q  # prefix*, wildcards, fuzzy~, ranges: as typed

    def _term(self, q: wq.Term) -> wq.Query:
        typed, spellings = self.variants.lookup(q.fieldname, (q.text,))
        typed = self._as_written(typed)
        if not typed:
            return q
        self._typed |= typed
        found = {}
        for spelling in spellings:
            if spelling.words not in typed:
                alt = self._query(q.fieldname, spelling.words, q.boost)
                if alt is not None:
                    found[spelling.words] = (spelling, alt)
        alternatives = []
        for words, (spelling, alt) in found.items():
            # A spelling holding the typed one or another searched adds nothing: any release
            # with "Serdar Berdimuhamedov" has "Berdimuhamedov".
            if not any(_holds(words, other) for other in (*typed, *found)):
                alternatives.append(alt)
                self.searched.setdefault(words, spelling.text)
        if not alternatives:
            return q
        self.widened.update(w for words in typed for w in words)
        return wq.Or([q, *alternatives])

    def _phrase(self, q: wq.Phrase) -> wq.Query:
        options: list[list[Words]] = []
        words, i = tuple(q.words), 0
        while i < len(words):
            for n in range(min(self.variants.longest, len(words) - i), 0, -1):
                run = words[i : i + n]
                found = self._run_options(q.fieldname, run, whole=n == len(words))
                if found:
                    options.append(found)
                    i += n
                    break
            else:
                options.append([words[i : i + 1]])
                i += 1
        phrases = [sum(choice, ()) for choice in islice(product(*options), MAX_PHRASES)]
        if len(phrases) < 2:
            return q
        out: list[wq.Query] = [q]
        for terms in phrases[1:]:
            if len(terms) == 1:
                out.append(wq.Term(q.fieldname, terms[0], boost=q.boost))
            else:
                out.append(wq.Phrase(q.fieldname, list(terms), slop=q.slop, boost=q.boost))
        return wq.Or(out)

    def _run_options(self, fieldname: str, run: Words, whole: bool = True) -> list[Words]:
        """The run itself and the field's terms of each other spelling the index holds.

        In a longer phrase a run is widened only to spellings no longer than it: "President
        Biden Takes" is not also searched as "President Joseph R. Biden, Jr. Takes" (a
        phrase of common words that no release says, 35 ms at 10x the corpus), nor with a
        name that shares the surname ("President Jill Biden Takes")."""
        typed, spellings = self.variants.lookup(fieldname, run)
        typed = self._as_written(typed)
        if not typed:
            return []
        self._typed |= typed
        parts = self._parts(fieldname, run)
        options = [run]
        for spelling in spellings:
            if spelling.words in typed:
                continue
            if len(spelling.words) < len(run) and spelling.words in parts:
                continue  # a spelling of a part of the run would widen the phrase
            if not whole and len(spelling.words) > len(run):
                continue
            terms = self._term_queries(fieldname, spelling.words)
            if terms and self._occurs(fieldname, terms) and terms not in options:
                options.append(terms)
                self.searched.setdefault(spelling.words, spelling.text)
        if len(options) < 2:
            return []
        self.widened.update(w for words in typed for w in words)
        return options

    def _parts(self, fieldname: str, run: Words) -> set[Words]:
        """The spellings of every shorter run inside run ("Serdar Berdimuhamedov": those
        of Berdimuhamedov, which stand for his father too)."""
        parts: set[Words] = set()
        for n in range(1, len(run)):
            for i in range(len(run) - n + 1):
                parts.update(s.words for s in self.variants.lookup(fieldname, run[i : i + n])[1])
        return parts

    def _as_written(self, typed: set[Words]) -> set[Words]:
        """The typed spellings, less acronyms of the lists (UN, ECO) not typed in capitals."""
        if self.text is None:
            return typed
        kept = set()
        for words in typed:
            written = self.variants.spellings[words][words].text
            acronym = written.isupper() and len(words) == 1
            if not acronym or re.search(rf"(?<!\w){re.escape(written)}(?!\w)", self.text):
                kept.add(words)
        return kept

    def _query(self, fieldname: str, words: Words, boost: float) -> wq.Query | None:
        """A spelling asked of a field: a term, or a phrase (body's in the exact field)."""
        if len(words) > 1 and fieldname == "body":
            fieldname = "exact"  # body keeps no positions; exact is title and body
        terms = self._term_queries(fieldname, words)
        if not terms or not self._occurs(fieldname, terms):
            return None
        if len(terms) == 1:
            return wq.Term(fieldname, terms[0], boost=boost)
        return wq.Phrase(fieldname, list(terms), boost=boost)

    def _term_queries(self, fieldname: str, words: Words) -> Words:
        if fieldname not in STEMMED:
            return words
        return tuple(s for s in map(stem_term, words) if s is not None)

    def _occurs(self, fieldname: str, terms: Words) -> bool:
        # A word asked of title or body is asked of both: it occurs if either holds it.
        fields = STEMMED if fieldname in STEMMED else (fieldname,)
        frequency = self.frequency
        return all(any(frequency(f, t) for f in fields) for t in terms)


def _holds(longer: Words, shorter: Words) -> bool:
    """Whether shorter occurs in longer as a run of words (and is not all of it)."""
    n = len(shorter)
    return len(longer) > n and any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))
