"""The build's faster paths give what the plain ones give: the same text, the same signatures.

markdown_text parses blocks with gated rules (a rule is not called on a line whose first
character it cannot match) and skips the inline parser for content without inline markup;
markdown_to_text reads plain paragraphs without the parser; minhash finalises and
de-duplicates in one pass and finds the words of most texts as ASCII bytes. Each is
checked here against the plain computation, written out in full: markdown-it-py's whole
parse walked token by token (the walk main used), the two-pass MinHash, the pattern's
words; on random Markdown made of the constructs the rules look for, on random and
adversarial documents of plain and marked blocks, and on White House releases when
../shared holds the corpus.
"""

from __future__ import annotations

import random
import re
import zlib

import numpy as np
import pytest
from conftest import white_house_releases
from markdown_it import MarkdownIt

from searchsvc import analysis, minhash
from searchsvc.reading import documents
from searchsvc.reading import markdown_text as mt

_PLAIN = MarkdownIt("commonmark").disable("code")  # every rule as markdown-it-py has it


def reference(source: str) -> mt.MarkdownText:
    """markdown_to_text the plain way: the whole parse, then its tokens walked."""
    tokens = _PLAIN.parse(source)
    blocks, heading = [], ""
    for i, token in enumerate(tokens):
        if token.type == "inline":
            text = _inline(token.children or [])
            if not heading and tokens[i - 1].type == "heading_open":
                heading = " ".join(text.split())
        elif token.type in ("fence", "code_block"):
            text = token.content
        elif token.type == "html_block":
            text = mt.html_text(token.content)
        else:
            continue
        text = mt._tidy(text)
        if text:
            blocks.append(text)
    return mt.MarkdownText("\n\n".join(blocks), heading)


def _inline(children) -> str:
    parts = []
    for child in children:
        if child.type == "text":
            parts.append(child.content.replace("**", ""))
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "code_inline":
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline(child.children or []))
    return "".join(parts)


PIECES = (
    *("*", "**", "_", "__", "`", "```", "~~~", "[", "]", "(", ")", "](u)", "![", "<", ">"),
    *("> ", "<b>", "</b>", "<div>", "</div>", "<!--", "-->", "<http://a.b>", "http://x"),
    *("\n", "\n", "\n\n", "    ", "  ", " ", "\t", "- ", "* ", "+ ", "1. ", "2) ", "# "),
    *("## ", "---", "===", "-", "=", "&amp;", "&copy;", "&#65;", "\\", "\\*", "|", "®"),
    *("word", "Word", ".", ",", '[ref]: /url "t"\n', "[ref]", "\xa0", "\r\n", "\x00"),
)


def random_markdown(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 60))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(4))
def test_random_markdown_gives_the_same_text_as_the_whole_parse(seed):
    for source in random_markdown(seed, 2000):
        assert mt.markdown_to_text(source) == reference(source), repr(source)


# Whole documents as the plain-block path sees them: blank-line separated blocks, most of
# them plain paragraphs (indented or not, with trailing spaces, tabs, non-breaking spaces),
# among blocks that open a region (lists with indented continuations, quotes, fences and
# HTML blocks that run on past blank lines, comments closed on their line or not,
# references defined after their use, setext underlines, ordered-list look-alikes).
PLAIN_LINES = (
    *("Plain words here.", "More words, and (brackets) too!", "4:13 P.M. EST", "a ~ tilde"),
    *("1990s were", "2025 is a year", "Q\xa0\xa0 Yes.", "\xa0", "\xa0  ", "end  ", "end "),
    *("tab\t", "x = y", "a -- b", "him: ]fine) ok", "100 %", "ok", "é café ², K"),
)
MARKED_LINES = (
    *("- item", "* item", "+ item", "1. first", "2) second", "10. tenth", "> quoted", "# Head"),
    *("===", "---", "***", "```", "~~~", "```py", "<!-- -->", "<!-- open", "-->", "<!--->"),
    *("<script>", "</script>", "<pre>", "</pre>", "<div>", "</div>", "<?php", "?>", "<!X"),
    *("]]>", "<![CDATA[", "[ref]: /u", "see [ref] here", "*em* and **strong**", "a_b_c"),
    *("`code`", "\\[Applause.\\]", "a\\", "&amp; &copy;", "<b>bold</b>", "[x](y)", "-"),
)
INDENTS = ("", "", "", " ", "  ", "    ", "     ", "\t", "\xa0")


def random_documents(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    documents = []
    for _ in range(count):
        blocks = []
        for _ in range(rnd.randint(1, 12)):
            marked = rnd.random() < 0.3
            lines = []
            for _ in range(rnd.randint(1, 4)):
                pool = MARKED_LINES if marked and rnd.random() < 0.5 else PLAIN_LINES
                lines.append(rnd.choice(INDENTS) + rnd.choice(pool))
            blocks.append("\n".join(lines))
        gaps = [rnd.choice(("\n\n", "\n\n", "\n \n", "\n\t\n\n", "\n", "\r\n\r\n")) for _ in blocks]
        documents.append(
            "".join(b + g for b, g in zip(blocks, gaps, strict=True))[: rnd.randint(1, 999)]
        )
    return documents


@pytest.mark.parametrize("seed", range(4))
def test_documents_of_plain_blocks_give_the_same_text_as_the_whole_parse(seed, monkeypatch):
    parsed = []
    parse = mt._BLOCKS.parse
    monkeypatch.setattr(mt._BLOCKS, "parse", lambda src, env: parsed.append(src) or parse(src, env))
    sources = random_documents(seed, 2000)
    for source in sources:
        assert mt.markdown_to_text(source) == reference(source), repr(source)
    # The plain path read a good part of the text (not all: regions were parsed).
    given, read = sum(map(len, sources)), sum(map(len, parsed))
    assert 0.2 * given < read < 0.8 * given


# Long paragraphs as the line cuts see them: plain lines among lines holding inline markup,
# constructs that span line breaks (emphasis, links, code spans, tags) and escapes.
SPANNING_LINES = (
    *("*open", "close*", "**bold", "bold**", "_open", "close_", "a * b", "`code", "code`"),
    *("[link", "text](u)", "[a](", "u)", "](u)", "[ref]", "[ref][", "ref]", "<a", 'href="x">'),
    *("<!-- c", "-->", "<http://a.b>", "\\[sic\\]", "\\*", "a\\", "a\\ ", "a\\\\"),
    *("&amp;", "&#65", ";", "![alt", "](i.png)", "x_y_z", "* not a list", "(a) b", "]", ")"),
)
TRAILS = ("", "", "", " ", "  ", "   ", "\t", " \t", "\xa0  ")


def random_paragraphs(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    paragraphs = []
    for _ in range(count):
        lines = []
        for _ in range(rnd.randint(2, 30)):
            pool = SPANNING_LINES if rnd.random() < 0.15 else PLAIN_LINES
            words = " ".join(rnd.choice(pool) for _ in range(rnd.randint(1, 3)))
            lines.append(rnd.choice(("", "", " ", "\t")) + words + rnd.choice(TRAILS))
        paragraphs.append("\n".join(lines))
    return paragraphs


@pytest.mark.parametrize("seed", range(4))
def test_paragraphs_cut_at_line_breaks_give_the_same_text_as_the_whole_parse(seed, monkeypatch):
    parsed = []
    parse = mt._parsed_words
    monkeypatch.setattr(mt, "_parsed_words", lambda src, env: parsed.append(src) or parse(src, env))
    sources = random_paragraphs(seed, 1500)
    for source in sources:
        assert mt.markdown_to_text(source) == reference(source), repr(source)
    # The parser read a part of the text only: the cuts were made.
    given, read = sum(map(len, sources)), sum(map(len, parsed))
    assert 0.1 * given < read < 0.7 * given


@pytest.mark.parametrize(
    "source",
    [
        "- item\n\n    indented, within the item\n\nplain, after the list",
        "- item\n\nplain at the margin ends the list\n\n    indented, top level",
        "> quote\n\n    indented: not the quote's\n\nplain",
        "```\nopen fence\n\nplain inside the fence\n\n    still inside",
        "~~~\nopen\n\nplain\n~~~\n\nafter",
        "<!-- open comment\n\nplain inside the comment\n\n-->\n\nafter",
        "<!-- closed -->\n\n     plain after it\n\nplain",
        "<!--->\n\nplain\n\n-->\n\nafter",
        "<script>\n\nvar a\n\n</script>\n\nafter",
        "<PRE>\n\nkept\n\n</PRE>\n\nafter",
        "<div>\nblock\n\nplain after the div\n\n</div>",
        "use [ref] here\n\nplain\n\n[ref]: /url\n\nplain",
        "Title\n===\n\nplain",
        "plain\n---\n\nplain",
        "1. one\n\n   two, within\n\nplain",
        "1990s were\n\n2025. a list\n\n  x\n\nplain",
        "\xa0  \nplain with a hard break  \nnext\n\n\xa0\n\nmore",
        "a\r\nb\r\n\r\n- c\r\n\r\n  d\r\n\r\ne",
        "nul \x00 here\n\n* x\n\n  \x00",
        "\t tabbed\n\n- x\n\n\tcontinued\n\nplain",
        "   \n\n  \t",
        "trailing spaces only   ",
        "plain\n*emphasis\nacross lines*\nplain\n[a link\nacross](u)\nplain",
        "plain\n[a](\nu)\nplain\n`code\nspan`\nplain\n<a\nhref='x'>\nplain",
        "plain\nescaped\\\nbreak\nplain\\ \nspace taken\nplain\\\\  \nhard",
        "\\[sic\\] plain\nplain\n[ref]\n\n[ref]: /u",
        "a \\[ b\nc ] d\ne\n`x\\`\ny ` z\nw",
        "**bold  \n**  \nplain  \n*a*  \nplain \n_b_ \nend",
    ],
)
def test_adversarial_documents_give_the_same_text_as_the_whole_parse(source):
    assert mt.markdown_to_text(source) == reference(source)


@pytest.mark.parametrize("seed", range(2))
def test_the_gated_block_rules_give_the_same_block_tokens(seed):
    plain = MarkdownIt("commonmark").disable(["code", "inline", "text_join"])
    for source in random_markdown(100 + seed, 2000):
        got = [t.as_dict() for t in mt._BLOCKS.parse(source)]
        assert got == [t.as_dict() for t in plain.parse(source)], repr(source)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("one line", "one line"),
        ("soft\nbreak", "soft break"),
        ("one space \nnext", "one space next"),
        ("hard  \nbreak", "hard\nbreak"),
        ("hard   \n\t  indented next", "hard\nindented next"),
        ("tab\t\nkept", "tab\t kept"),
        ("a\n b\n  c", "a b c"),
    ],
)
def test_content_without_inline_markup_reads_as_the_inline_parser_reads_it(content, expected):
    assert mt._inline_words(content, {}) == expected
    children: list = []
    _PLAIN.inline.parse(content, _PLAIN, {}, children)
    assert _inline(children) == expected


def test_white_house_releases_give_the_same_text_as_the_whole_parse():
    compared = 0
    for name, text in white_house_releases(400):
        _, body = documents.split_front_matter(text)
        assert mt.markdown_to_text(body) == reference(body), name
        compared += 1
    assert compared == 400


def two_pass_signature(text: str) -> bytes:
    """minhash.signature as main computed it: distinct shingles, finalised, distinct again."""
    h = minhash.shingle_hashes(text)
    if not len(h):
        return minhash.EMPTY
    h = np.unique(minhash._finalise(h))
    starts = np.searchsorted(h, minhash._BIN_STARTS)
    filled = np.flatnonzero(starts < np.append(starts[1:], len(h)))
    values = (h[starts[filled]] >> np.uint64(64 - 7 - 16)) & np.uint64(0xFFFF)
    nearest = np.searchsorted(filled, np.arange(minhash.NUM_PERM)) % len(filled)
    distance = (filled[nearest] - np.arange(minhash.NUM_PERM)) % minhash.NUM_PERM
    out = (values[nearest] + distance.astype(np.uint64) * np.uint64(0x9E37)) & np.uint64(0xFFFF)
    return out.astype("<u2").tobytes() + np.array([len(h)], dtype="<u4").tobytes()


@pytest.mark.parametrize("seed", range(3))
def test_words_are_the_pattern_words(seed):
    # ASCII bytes where no character outside ASCII is a word character, else the pattern:
    # the same words either way, and so the same crc32s.
    rnd = random.Random(seed)
    alphabet = "ab Z9_ .,-\n\t\xa0’—“”é²ñK\u212a\u0130\ufffd\U0001f600\ud800x\x00?"
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))).lower()
        words = [w.decode() if isinstance(w, bytes) else w for w in minhash._words(text)]
        assert words == re.findall(r"\w+", text), repr(text)
        assert [minhash._CRC32[w] for w in minhash._words(text)] == [
            zlib.crc32(w.encode()) for w in re.findall(r"\w+", text)
        ]


def test_distinct_is_numpys_unique():
    rnd = np.random.default_rng(15)
    for size in (0, 1, 2, 3, 1500):
        for high in (2, 50, 2**63):
            h = rnd.integers(0, high, size, dtype=np.uint64)
            got = minhash._distinct(h)
            assert got.dtype == np.uint64 and np.array_equal(got, np.unique(h))


def test_signatures_are_the_two_pass_ones():
    rnd = random.Random(15)
    words = ("the", "solar", "plan", "gas", "Caspian", "talks", "Türkmenistan", "café", "U.S.")
    texts = ["", "one", "two words", "a b c d e", "the the the the the the"]
    texts += [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 400))) for _ in range(300)]
    for text in texts:
        assert minhash.signature(text) == two_pass_signature(text), text[:60]
    assert sum(len(minhash.signature(t)) == minhash.SIGNATURE_BYTES for t in texts) > 290


# -- the words of a long text, split without the pattern ----------------------------------------

# Word characters (ASCII, accented, digits of other scripts, marks that WORD_CHAR adds), the
# joiners, and what is neither: ASCII and Unicode spaces, punctuation, controls, a lone
# surrogate, a character outside the BMP.
_SPLIT_ALPHABET = (
    list("ab Z9_.'’ \n\t\r\x0b\x0c\x1c\x1d\x85\xa0\u2028\u3000-,;:!?\"“”—–()/\\@#éüßİı")
    + list("\u0301\u0308\u05b0\u0610\u200c\u200d\u00ad\u0903\u200b\ufeff")
    + ["\ud800", "\U0001f600", "٣", "²", "½", "Ⅻ", "ǅ", "ﬁ", "\x00"]
)


@pytest.mark.parametrize("seed", range(4))
def test_long_texts_are_split_into_the_patterns_words(seed):
    rnd = random.Random(seed)
    for _ in range(5000):
        size = rnd.choice((analysis._SPLIT_FROM, 65, 100, 400))
        text = "".join(rnd.choice(_SPLIT_ALPHABET) for _ in range(size))
        assert analysis._split(text) == analysis.WORD_RE.findall(text), repr(text)


@pytest.mark.parametrize(
    "text",
    [
        "U.S. officials met in Ashgabat.  The U.S.-Turkmen talks... don't end. 'Quoted' words",
        "a..b a.'b a'.b 'a' .a a. ’tis rock’n’roll 1.5.2 3.14. ...and... ''",
        "Türkmenistan’s gas; İstanbul—Baku “pipeline”\u00a0talks\u200bresumed\u0301 x\u0301y",
    ],
)
def test_joiners_are_kept_only_between_word_characters(text):
    text = text * 2  # past _SPLIT_FROM
    assert len(text) >= analysis._SPLIT_FROM
    assert analysis.words(text) == analysis.WORD_RE.findall(text)


def test_white_house_releases_split_into_the_patterns_words():
    compared = 0
    for name, text in white_house_releases(400):
        body = mt.markdown_to_text(documents.split_front_matter(text)[1]).text
        assert analysis.words(body) == analysis.WORD_RE.findall(body), name
        compared += 1
    assert compared == 400
