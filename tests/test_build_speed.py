"""The build's faster paths give what the plain ones give: the same text, the same signatures.

markdown_text parses blocks with gated rules (a rule is not called on a line whose first
character it cannot match) and skips the inline parser for content without inline markup;
minhash finalises and de-duplicates in one pass. Each is checked here against the plain
computation, written out in full: markdown-it-py's whole parse walked token by token (the
walk main used), and the two-pass MinHash; on random Markdown made of the constructs the
rules look for, and on White House releases when ../shared holds the corpus.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import white_house_releases
from markdown_it import MarkdownIt

from searchsvc import minhash
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


def test_signatures_are_the_two_pass_ones():
    rnd = random.Random(15)
    words = ("the", "solar", "plan", "gas", "Caspian", "talks", "Türkmenistan", "café", "U.S.")
    texts = ["", "one", "two words", "a b c d e", "the the the the the the"]
    texts += [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 400))) for _ in range(300)]
    for text in texts:
        assert minhash.signature(text) == two_pass_signature(text), text[:60]
    assert sum(len(minhash.signature(t)) == minhash.SIGNATURE_BYTES for t in texts) > 290
