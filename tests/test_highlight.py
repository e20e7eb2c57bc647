"""Snippets: fragments, marks in original forms, escaping, the lead."""

from __future__ import annotations

import html as html_module
import random
import re

import pytest

from searchsvc.analysis import WORD_CHAR, WORD_RE, exact_term, stem_term
from searchsvc.snippets import QueryTerms
from searchsvc.snippets.highlight import SEPARATOR, _best_window, highlight_all, lead, snippet
from searchsvc.snippets.spans import _SEPS, SCAN_LIMIT, find_matches

TEXT = (
    "Meetings were held in Ashgabat. " * 3
    + "Filler words about nothing in particular. " * 20
    + "The ministers discussed the strategic partnership at length. "
    + "More filler that says nothing at all. " * 20
    + "A second meeting will follow."
)


def test_marks_original_forms_of_stems():
    html = snippet(TEXT, QueryTerms(stems={"meet"}))
    assert "<mark>Meetings</mark>" in html and "<mark>meeting</mark>" in html


def test_at_most_three_fragments_best_first():
    html = snippet(TEXT, QueryTerms(stems={"meet", "strateg", "partnership"}))
    assert html.count("…") <= 6
    assert html.index("<mark>strategic partnership</mark>") < html.index("<mark>Meetings</mark>")


def test_phrase_marked_as_one():
    html = snippet(TEXT, QueryTerms(phrases=[("strategic", "partnership")]))
    assert "<mark>strategic partnership</mark>" in html


def test_everything_else_is_escaped():
    text = "<script>alert(1)</script> & the meeting <b>went</b> well"
    html = snippet(text, QueryTerms(stems={"meet"}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert "<mark>meeting</mark>" in html and "&lt;b&gt;" in html


def test_no_match_gives_the_lead():
    assert snippet("Short text.", QueryTerms(stems={"zzz"})) == "Short text."
    long = "word " * 100
    assert lead(long).endswith("…") and len(lead(long)) <= 201


def test_highlight_all_marks_every_match():
    html = highlight_all(TEXT, QueryTerms(stems={"meet"}))
    assert html.count("<mark>") == 4


# -- find_matches reads only where a match may be; what it finds is what reading every word finds


def test_phrase_deep_in_a_long_text_is_marked():
    text = "Filler words about nothing in particular. " * 2000 + "The Strategic  Partnership."
    assert len(text) > 80_000
    html = snippet(text, QueryTerms(phrases=[("strategic", "partnership")]))
    assert "<mark>Strategic Partnership</mark>" in html


def test_matches_beyond_the_scan_limit_are_left_to_the_document_page():
    text = "Filler words. " * 8000 + "A meeting."
    assert len(text) > SCAN_LIMIT
    assert "<mark>" not in snippet(text, QueryTerms(stems={"meet"}))
    assert "<mark>meeting</mark>" in highlight_all(text, QueryTerms(stems={"meet"}))


def test_a_later_fragment_with_more_matches_wins():
    # Three early windows each hold both terms; a later one holds them more often.
    early = "The meeting on energy was short. " + "Filler words about nothing. " * 12
    late = "Energy meeting, energy meeting, energy meeting. "
    text = early * 3 + "Filler. " * 200 + late + "The end."
    html = snippet(text, QueryTerms(stems={"meet", "energi"}))
    assert html.split(SEPARATOR)[0].lower().count("energy meeting") == 3


def _fragments(html: str) -> list[str]:
    return [f.strip("…") for f in html.split(SEPARATOR)]


def _plain_and_marked(fragment: str) -> tuple[str, list[tuple[int, int]]]:
    """A fragment's text (unescaped) and the character ranges its <mark>s cover."""
    plain, marked, pos = [], [], 0
    for part in re.split(r"(<mark>.*?</mark>)", fragment):
        inner = part[len("<mark>") : -len("</mark>")] if part.startswith("<mark>") else None
        text = html_module.unescape(inner if inner is not None else part)
        if inner is not None:
            marked.append((pos, pos + len(text)))
        plain.append(text)
        pos += len(text)
    return "".join(plain), marked


def _runs(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


REPEATED = (
    "Meetings were held in Ashgabat on energy. " * 3
    + "Filler words about nothing in particular. " * 6
    + "The ministers held a meeting on energy and trade. "
    + "More filler that says nothing at all. " * 6
    + "Meetings were held in Ashgabat on energy. "
    + "A second meeting on energy will follow in Baku. "
)


@pytest.mark.parametrize(
    "terms",
    [
        QueryTerms(stems={"meet"}),
        QueryTerms(stems={"meet", "energi"}),
        QueryTerms(phrases=[("meetings", "were")], stems={"energi"}),
    ],
)
def test_no_fragment_repeats_words_another_shows(terms):
    fragments = _fragments(snippet(REPEATED, terms))
    assert len(fragments) >= 2
    seen: set = set()
    for fragment in fragments:
        runs = _runs(_plain_and_marked(fragment)[0])
        assert not runs & seen, fragment
        seen |= runs


@pytest.mark.parametrize("seed", range(3))
def test_every_match_inside_a_fragment_is_marked(seed):
    rng = random.Random(seed)
    vocabulary = ["meeting", "energy", "partners", "the", "of", "talks", "Baku", "met"]
    for _ in range(100):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(5, 300))]
        text = " ".join(words) + "."
        terms = QueryTerms(stems=set(rng.sample(["meet", "energi", "partner", "talk"], 2)))
        for fragment in _fragments(snippet(text, terms, size=rng.choice([60, 120, 200]))):
            plain, marked = _plain_and_marked(fragment)
            for start, end, _ in find_matches(plain, terms):
                assert any(s <= start and end <= e for s, e in marked), (plain, start)
            words_in = set(plain[s:e].lower() for s, e, _ in find_matches(plain, terms))
            assert all(plain[s:e].lower() in words_in or " " in plain[s:e] for s, e in marked)


def test_fragments_never_overlap():
    rng = random.Random(11)
    for _ in range(200):
        # Numbered filler: each fragment's text occurs once, so its place is known.
        words = [f"w{i} meeting" if rng.random() < 0.4 else f"w{i}" for i in range(200)]
        text = " ".join(words[: rng.randint(10, 200)])
        html = snippet(text, QueryTerms(stems={"meet"}), size=rng.choice([40, 80, 200]))
        placed = []
        for fragment in _fragments(html):
            plain = _plain_and_marked(fragment)[0]
            assert text.count(plain) == 1, plain
            placed.append((text.index(plain), text.index(plain) + len(plain)))
        placed.sort()
        assert all(a[1] <= b[0] for a, b in zip(placed, placed[1:], strict=False)), html


def test_phrase_words_with_dots_accents_and_overlaps():
    terms = QueryTerms(phrases=[("us", "policy")])
    spans = find_matches("The U.S. policy, the us policy, the Ü.S. Policy, U.S.policy", terms)
    assert len(spans) == 3
    # "a a" overlaps "x a" at 2, and itself: the one at 4 is found all the same.
    terms = QueryTerms(phrases=[("x", "a"), ("a", "a")])
    assert find_matches("x a a a", terms) == [(0, 3, "x a"), (4, 7, "a a")]
    assert find_matches("Türkmenistan’s president", QueryTerms(phrases=[("turkmenistans",)]))


@pytest.mark.parametrize("seed", range(4))
def test_same_matches_as_reading_every_word(seed):
    rng = random.Random(seed)
    for _ in range(100):
        text = "".join(rng.choice(_WORDS) + rng.choice(_GAPS) for _ in range(rng.randint(1, 60)))
        terms = _random_terms(rng, text)
        limit = rng.choice([len(text), rng.randint(1, len(text))])
        assert find_matches(text, terms, limit) == _every_word(text, terms, limit), (text, terms)


def test_best_window_is_the_first_with_most_terms_then_matches():
    rng = random.Random(7)
    for _ in range(300):
        spans, pos = [], 0
        for _ in range(rng.randint(1, 40)):
            pos += rng.randint(1, 80)
            spans.append((pos, pos + rng.randint(1, 30), rng.choice("abc")))
            pos = spans[-1][1]
        assert _best_window(spans, 120) == _best_window_by_sets(spans, 120)


def test_words_are_what_the_finders_assume():
    # matching.py reasons about words of this shape; change it with WORD_RE.
    assert WORD_RE.pattern == f"{WORD_CHAR}+(?:[{_SEPS}]{WORD_CHAR}+)*"


def test_the_non_ascii_scan_skips_no_word_character():
    # _past_ascii leaves out General Punctuation, which must hold no word character.
    skipped = [*range(0x2000, 0x200C), *range(0x200E, 0x2070)]
    assert not [hex(c) for c in skipped if re.match(WORD_CHAR, chr(c))]


_WORDS = str.split(
    "try tries cry using use aging age dying die lying skies sky U.S. US us u.s D.C. "
    "don't don’t it's Meeting meetings meet o'clock President President’s the of The OF "
    "united United states States a A 2020 2020s x_y Türkmenistan Turkmenistan Aşgabat "
    "İstanbul ı ſtate ﬁnance café cafe\u0301 pipe\u00adline a\u200db \u200d москва 日本語 e.g. "
    "end.Next 'quoted' ’tis ..x x.. a.'b words' a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t"
)
_GAPS = [" ", " ", "\n\n", ", ", ". ", " — ", " “", "” ", "'", "’", ".", " '", "\u00a0", "-"]
_GAPS += [" " * 150, "-" * 300, "，"]


def _random_terms(rng: random.Random, text: str) -> QueryTerms:
    words = WORD_RE.findall(text) or ["x"]
    terms = QueryTerms()
    terms.stems.update(s for s in map(stem_term, rng.sample(words, min(3, len(words)))) if s)
    if rng.random() < 0.3:
        terms.stems.add(rng.choice(["tri", "cri", "use", "age", "die", "us"]))
    if rng.random() < 0.3:
        terms.exact.add(exact_term(rng.choice(words)) or "x")
    if rng.random() < 0.5:
        i = rng.randrange(len(words))
        terms.phrases.append(tuple(map(exact_term, words[i : i + rng.randint(1, 3)])))
    return terms


def _every_word(text: str, terms: QueryTerms, limit: int) -> list:
    """What the highlighter found when it read every word: the reference."""
    text = text[:limit]
    prefixes = tuple({t[:3] for t in (*terms.stems, *terms.exact)})
    spans = []
    words = list(WORD_RE.finditer(text))
    for m in words:
        word, start = m.group(), m.start()
        if not terms.phrases and not _read_alone(text, word, start, prefixes):
            continue
        stem = stem_term(word) if terms.stems else None
        if stem is not None and stem in terms.stems:
            spans.append((start, m.end(), stem))
        elif terms.exact and exact_term(word) in terms.exact:
            spans.append((start, m.end(), exact_term(word)))
    exact = [exact_term(m.group()) for m in words]
    for phrase in terms.phrases:
        n = len(phrase)
        for i in range(len(exact) - n + 1):
            if tuple(exact[i : i + n]) == phrase:
                spans.append((words[i].start(), words[i + n - 1].end(), " ".join(phrase)))
    if not terms.phrases:
        return spans
    merged = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not merged or span[0] >= merged[-1][1]:
            merged.append(span)
    return merged


def _read_alone(text: str, word: str, start: int, prefixes: tuple) -> bool:
    # Without a phrase, a word was read if it opens after no dot or apostrophe, and starts
    # like a term, or has a dot or apostrophe, or has a letter or mark outside ASCII first.
    head = re.split("[.'’]", word)[0]
    if start and text[start - 1] in ".'’":
        return False
    starts = any(re.match(re.escape(p), word, re.IGNORECASE) for p in prefixes)
    return starts or head != word or not head.isascii()


def _best_window_by_sets(spans, size):
    best_score, best = (-1, -1), (0, 0, [])
    j = 0
    for i, first in enumerate(spans):
        j = max(j, i)
        while j + 1 < len(spans) and spans[j + 1][1] - first[0] <= size:
            j += 1
        inside = spans[i : j + 1]
        score = (len({s[2] for s in inside}), len(inside))
        if score > best_score:
            best_score, best = score, (first[0], inside[-1][1], inside)
    start, end, inside = best
    slack = max(size - (end - start), 0)
    return max(start - slack // 3, 0), end + slack - slack // 3, inside


@pytest.mark.parametrize("seed", range(3))
def test_phrases_word_by_word_match_as_reading_every_word(seed):
    # Phrases taken from the text itself (so most occur, some overlapping themselves),
    # found a word at a time: the phrases of reading every word.
    rng = random.Random(100 + seed)
    for _ in range(300):
        pieces = [rng.choice(_WORDS[:30]) + rng.choice(_GAPS) for _ in range(rng.randint(1, 40))]
        text = "".join(pieces)
        words = [exact_term(w) for w in WORD_RE.findall(text)] or ["x"]
        i = rng.randrange(len(words))
        phrase = tuple(words[i : i + rng.randint(1, 3)])
        terms = QueryTerms(phrases=[phrase, (phrase[0], phrase[0])])
        assert find_matches(text, terms) == _every_word(text, terms, len(text)), (text, terms)


def test_odd_words_are_looked_for_at_every_word_character_past_ascii():
    """spans._past_ascii, where _odd_words looks, over every code point past ASCII: it finds
    each word character (it may find others, which _odd_words passes over)."""
    from searchsvc.snippets.spans import _past_ascii

    every = "".join(chr(c) for c in range(0x80, 0x110000))  # lone surrogates included
    found = set(_past_ascii(every))
    assert {m.start() for m in re.finditer(WORD_CHAR, every)} <= found
    common = "\u00a0\u202f\u2014\u2019\u201c"
    assert not _past_ascii(f"a{common}b")  # passed over in numpy
    assert _past_ascii("\u200cx\u200d") == [0, 2]  # the joiners are kept
    assert _past_ascii("ab\udcffc\x00") == [2]  # a lone surrogate, a trailing NUL


@pytest.mark.parametrize("seed", range(3))
def test_odd_words_are_the_words_holding_a_character_past_ascii(seed):
    """_odd_words against reading every word of random texts: a word is odd if it holds a
    character past ASCII other than the curly apostrophe (which joins words, as in don’t)."""
    from searchsvc.snippets.spans import _odd_words

    rng = random.Random(200 + seed)
    for _ in range(200):
        text = "".join(rng.choice(_WORDS) + rng.choice(_GAPS) for _ in range(rng.randint(1, 60)))
        words = WORD_RE.finditer(text)
        expected = [(m.start(), m.end()) for m in words if not m.group().replace("’", "").isascii()]
        assert [(w.start(), w.end()) for w in _odd_words(text)] == expected, text
