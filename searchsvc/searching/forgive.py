"""The forgiving reading: any text the user typed -> a query the language can run, and why.

    text --too long: cut at a word, within MAX_QUERY_LENGTH-->
         --lenient tokens (an unclosed quote runs to the end)-->
         --each token mended: an unknown field: is words, a field with its value after a
           space gets it, a wildcard too short loses its *, a fuzzy~ word keeps 2 edits-->
         --parentheses balanced: an unmatched ) dropped, an unclosed ( closed at the end-->
         --operators tidied: AND/OR/NOT with nothing to join dropped-->
    the mended text (check_syntax accepts it) and one short reason per change

Pasted text is read as close to its intent as can be: a good phrase, a good group and a good
operator stay what they are; only the broken part is read as words or dropped. The reasons
make the notice ("Searched for Note the ministers met (in Ashgabat): 'Note:' is not a
field."). A query that needs no mending comes back unchanged, with no reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_LENGTH = 2000  # long enough for a pasted paragraph
MAX_EDITS = 2
MAX_FUZZY = 5
MAX_FUZZY_LENGTH = 40
MIN_PREFIX = 2
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})
BINARY = OPERATORS - {"NOT"}
# Typographic double quotes, as word processors, phones and pasted articles give them (“ ”,
# „ “, « », ″, ＂): each is the language's ", so that “solar panels” is a phrase.
_QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\uff02", '"'))

# A (signed) fielded phrase, a (signed) phrase, a phrase never closed, a field opening a
# group, a parenthesis, a word (with its sign), a stray quote.
_LENIENT_RE = re.compile(
    r'[-+]?\w+:"[^"]*"(?:~\d*)?|[-+]?"[^"]*"(?:~\d*)?|[-+]?"[^"]*$'
    r'|[-+]?\w+:(?=\()|[-+]?\(|\)|[^\s()"]+|"'
)
_FIELD_RE = re.compile(r"^([-+]?)(\w+):(.*)$", re.S)
_FUZZY_RE = re.compile(r'(?<=[^\s"])~(\d?)(?:/\d+)?')


@dataclass
class _Token:
    text: str
    start: int
    end: int
    reason: str | None = None


@dataclass
class Mended:
    """A text the query language can read, and why it differs from what was typed."""

    text: str
    reasons: list[str] = field(default_factory=list)


def plain_quotes(text: str) -> str:
    """text with every typographic double quote written as the query language's "."""
    return text.translate(_QUOTES)


def mend(text: str, fields: tuple[str, ...]) -> Mended:
    """Read any text as a query of the language, as close to what was meant as can be."""
    reasons: list[str] = []
    if len(text) > MAX_QUERY_LENGTH:
        cut = text[:MAX_QUERY_LENGTH]
        text = cut.rsplit(None, 1)[0] if re.search(r"\s", cut) else cut
        reasons.append(f"only the first {MAX_QUERY_LENGTH:,} characters were read")
    tokens = [_Token(m.group(), m.start(), m.end()) for m in _LENIENT_RE.finditer(text)]
    tokens = _mend_fields(tokens, fields)
    for tok in tokens:
        _mend_token(tok)
    tokens = _limit_fuzzy(tokens)
    tokens = _balance(tokens)
    tokens = _tidy(tokens, quiet=False)
    reasons += _unique(t.reason for t in tokens if t.reason)
    return Mended(_join(text, tokens), reasons)


def _mend_fields(tokens: list[_Token], fields: tuple[str, ...]) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        m = _FIELD_RE.match(tok.text)
        i += 1
        if not m:
            out.append(tok)
            continue
        sign, name, value = m.groups()
        if name not in fields:
            value = value if value.startswith('"') else value.replace(":", " ")
            tok.text = f"{sign}{name} {value}".strip() if value or not _opens_group(nxt) else ""
            tok.reason = f"'{name}:' is not a field"
        elif not value and nxt is not None and _is_word(nxt.text) and not _opens_group(nxt):
            # "title: energy": the space after the colon was a slip.
            tok.text, tok.end, tok.reason = f"{tok.text}{nxt.text}", nxt.end, None
            tok.reason = f"read {name}: {nxt.text} as {name}:{nxt.text}"
            i += 1
        elif not value and not _opens_group(nxt):
            tok.text, tok.reason = "", f"{name}: had no value"
        out.append(tok)
    return out


def _mend_token(tok: _Token) -> None:
    text = tok.text
    if text.count('"') == 1 and not text.endswith(":"):  # a phrase never closed
        if text.strip('"+- ') and text[text.index('"') + 1 :].strip():
            tok.text, tok.reason = text.rstrip() + '"', "the quote was closed"
        else:
            tok.text, tok.reason = "", 'a lone " was ignored'
        return
    if '"' in text or text in "()" or not text:
        return
    m = _FIELD_RE.match(text)
    head, word = (f"{m.group(1)}{m.group(2)}:", m.group(3)) if m else ("", text)
    if head and not word:  # a field opening a group ("title:" of "title:(a b)"): keep it
        return
    if word and not word.strip("?*+-"):
        tok.text, tok.reason = "", "a wildcard alone was ignored"
        return
    if ("*" in word or "?" in word) and len(re.split(r"[*?]", word.lstrip("+-"))[0]) < MIN_PREFIX:
        word = re.sub(r"[*?]", "", word)
        tok.reason = f"a wildcard needs {MIN_PREFIX} letters before it: read as a word"
    for fuzzy in _FUZZY_RE.finditer(word):
        if fuzzy.group(1) and int(fuzzy.group(1)) > MAX_EDITS:
            word = word.replace(fuzzy.group(), f"~{MAX_EDITS}", 1)
            tok.reason = f"a fuzzy~ word allows {MAX_EDITS} edits"
    if _FUZZY_RE.search(word) and len(word) > MAX_FUZZY_LENGTH:
        word, tok.reason = _FUZZY_RE.sub("", word), "a fuzzy~ word this long is read as a word"
    tok.text = head + word if word.strip("+-") or not head else ""


def _limit_fuzzy(tokens: list[_Token]) -> list[_Token]:
    seen = 0
    for tok in tokens:
        if tok.text.endswith('"') or not _FUZZY_RE.search(tok.text):
            continue
        seen += 1
        if seen > MAX_FUZZY:
            tok.text = _FUZZY_RE.sub("", tok.text)
            tok.reason = f"only the first {MAX_FUZZY} fuzzy~ words are fuzzy"
    return tokens


def _balance(tokens: list[_Token]) -> list[_Token]:
    out: list[_Token] = []
    opened: list[_Token] = []
    for tok in tokens:
        if _opens_group(tok):
            opened.append(tok)
        elif tok.text == ")":
            if opened:
                opened.pop()
            else:
                tok.text, tok.reason = "", "a ) with no ( was ignored"
        out.append(tok)
    end = out[-1].end if out else 0
    out += [_Token(")", end, end, "the ( was closed at the end") for _ in opened]
    return _drop_empty_groups(out)


def _drop_empty_groups(tokens: list[_Token]) -> list[_Token]:
    """Drop "()" (and "title:()"), with operators only inside, until none is left."""
    changed = True
    while changed:
        changed = False
        live = [t for t in tokens if t.text and t.text not in OPERATORS]
        for i, tok in enumerate(live):
            nxt = live[i + 1] if i + 1 < len(live) else None
            if _opens_group(tok) and nxt is not None and nxt.text == ")":
                first, last = tokens.index(tok), tokens.index(nxt)
                for inside in tokens[first : last + 1]:
                    inside.text = ""
                tok.reason = "empty parentheses were ignored"
                changed = True
                break
            if tok.text.endswith(":") and not _opens_group(nxt) and _FIELD_RE.match(tok.text):
                tok.text, tok.reason = "", f"{tok.text} had no value"
                changed = True
                break
    return tokens


def tidy_operators(words: list[str]) -> list[str]:
    """Drop the operators that have nothing to join (at an end, doubled, by a parenthesis)."""
    tokens = [_Token(w, 0, 0) for w in words]
    return [t.text for t in _tidy(tokens, quiet=True) if t.text]


def _tidy(tokens: list[_Token], quiet: bool) -> list[_Token]:
    changed = True
    while changed:
        changed = False
        live = [t for t in tokens if t.text]
        for i, tok in enumerate(live):
            prev = live[i - 1].text if i else None
            nxt = live[i + 1].text if i + 1 < len(live) else None
            why = _dangling(tok.text, prev, nxt)
            if why:
                tok.text = ""
                if not quiet:
                    tok.reason = why
                changed = True
                break
    return tokens


def _dangling(tok: str, prev: str | None, nxt: str | None) -> str | None:
    if tok not in OPERATORS:
        return None
    if nxt is None or nxt == ")" or (tok in BINARY and nxt in BINARY):
        return f"{tok} at the end was dropped" if nxt is None else f"{tok} joined nothing"
    if tok == "NOT" and nxt == "NOT":
        return "NOT NOT is one NOT"
    if tok in BINARY and (prev is None or prev in OPERATORS or prev.endswith("(")):
        return f"{tok} at the start was dropped" if prev is None else f"{tok} joined nothing"
    return None


def _join(text: str, tokens: list[_Token]) -> str:
    pieces, pos = [], 0
    for tok in tokens:
        pieces.append(text[pos : tok.start] if tok.start >= pos else " ")
        pieces.append(tok.text)
        pos = max(pos, tok.end)
    pieces.append(text[pos:])
    text = re.sub(r"\s+", " ", "".join(pieces)).strip()
    return re.sub(r"\s+\)", ")", text)  # "(gas OR) oil", mended: "(gas) oil"


def _opens_group(tok: _Token | None) -> bool:
    return tok is not None and tok.text.endswith("(")


def _is_word(text: str) -> bool:
    return bool(text) and text not in OPERATORS and text not in "()" and ":" not in text


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
