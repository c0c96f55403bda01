"""How deep a TOML or JSON text nests, found before a parser sees it.

:mod:`tomllib` spends time and memory quadratic in the number of parts of a
dotted key and in the depth of a table header: an 80 KB request made of one
key ``a.a.a…`` 40 000 parts long took six gigabytes.  :func:`too_deep` reads
the text once, in linear time, and finds the first place where a value would
sit more than :data:`MAX_NESTING` keys and array indices below the top of the
document, so that such a text is refused before it is parsed.

Depth is the length of a value's key path, as :mod:`returnrules.files.positions`
writes it: in ``[[rule]]`` / ``when.all = [{ fact = "x" }]`` the string
``"x"`` is at ``("rule", 0, "when", "all", 0, "fact")``, depth 6.  The parts
of a dotted key count one each (in headers and inline tables too), an array
adds one for its elements, an inline table adds nothing itself (its keys do).
A header names its table by its own parts, plus one for ``[[…]]``; that it
may extend an array of tables declared earlier is not counted, which keeps
the scan free of any memory of earlier tables.

Strings of every kind (basic, literal, multi-line) and comments are skipped,
so brackets and dots inside them count for nothing.  The scan knows only as
much TOML as it needs to tell keys from values; it never raises.  Text it
cannot read — an unterminated string — ends the scan without a finding: a
parser stops at the same place with a syntax error, having read nothing
deeper than what the scan has already checked.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_NESTING", "too_deep"]

MAX_NESTING: Final = 100
"""Deepest key path allowed in a TOML or JSON file.

Far above any real file, and above the deepest condition the policy checker
accepts (32 levels of ``all``, two steps each, under ``rule.N.when``), so
that it, not this limit, reports conditions nested too deeply."""

# One match per thing the scans look at.  Strings and comments are matched
# whole, so that nothing in them counts; a quote left over is a string that
# never closes.  The quantifiers are possessive, so that a string that does
# not close costs one pass, never more.  A multi-line string may end with one
# or two quotes right before its closing three: """"a""""" is the string "a"".
_STRINGS: Final = r"""
    "{3}(?:[^"\\]++|\\.|""?(?!"))*+"{3,5}
  | "(?:[^"\\\n]++|\\.)*+"
"""
_TOML_TOKEN: Final = re.compile(
    _STRINGS
    + r"""
  | '{3}(?:[^']++|''?(?!'))*+'{3,5}
  | '[^'\n]*+'
  | \#[^\n]*+
  | [\[\]{}=,.\n"']
""",
    re.VERBOSE | re.DOTALL,
)
_JSON_TOKEN: Final = re.compile(
    r'"(?:[^"\\\n]++|\\.)*+" | [\[\]{}"]', re.VERBOSE | re.DOTALL
)


def too_deep(text: str, *, json: bool = False, limit: int = MAX_NESTING) -> int | None:
    """The offset in *text* where nesting first passes *limit*, or None if it
    never does (*json*: the text is JSON, not TOML)."""
    brackets = text.count("[") + text.count("{")
    if brackets + (0 if json else text.count(".") + 1) <= limit:
        return None  # every level costs one of these characters: nothing to scan
    return _json(text, limit) if json else _toml(text, limit)


def _json(text: str, limit: int) -> int | None:
    open_brackets = 0
    for found in _JSON_TOKEN.finditer(text):
        token = found[0]
        if token in "[{":
            open_brackets += 1
            if open_brackets > limit:
                return found.start()
        elif token in "]}":
            open_brackets -= open_brackets > 0
        elif token == '"':
            return None  # a string that never closes
    return None


# What the TOML scan is reading.
_KEY: Final = 0  # a key, before its "=" (at the start of a line, or in { })
_HEADER: Final = 1  # a [table] or [[array]] header
_VALUE: Final = 2  # a value, after "=" or in an array


def _toml(text: str, limit: int) -> int | None:
    # Open arrays and inline tables: the bracket, and the depth of an array's
    # elements or of an inline table itself (its keys add their parts).
    stack: list[tuple[str, int]] = []
    state = _KEY
    base = 0  # depth of the table the last header opened
    table = 0  # depth of the table the current key is in
    parts = 1  # parts of the current key (or header) so far
    array = 0  # 1 in a [[header]]
    here = 0  # depth of the current value
    skip = 0  # where to start again after the "[[" or "]]" of a header
    for found in _TOML_TOKEN.finditer(text):
        token, at = found[0], found.start()
        char = token[0]
        if char in "\"'":
            if len(token) == 1:
                return None  # a string that never closes
            continue  # nothing in a string counts
        if char == "#" or at < skip:
            continue
        if char == "\n":
            if not stack:
                state, table, parts = _KEY, base, 1
        elif state == _HEADER:
            if char == ".":
                parts += 1
                if parts + array > limit:
                    return at
            elif char == "]":
                skip = at + 1 + array  # the second "]" of "]]"
                state, base = _KEY, parts + array
                table, parts = base, 1
                if base > limit:
                    return at
        elif state == _KEY:
            if char == ".":
                parts += 1
                if table + parts > limit:
                    return at
            elif char == "=":
                state, here = _VALUE, table + parts
                if here > limit:
                    return at
            elif char == "[" and not stack:
                array = 1 if text.startswith("[", at + 1) else 0
                skip = at + 1 + array  # the second "[" of "[["
                state, parts = _HEADER, 1
            elif char == "}" and stack:  # {} or a trailing comma
                here = stack.pop()[1]
                state = _VALUE
        elif char == "[":
            here += 1
            if here > limit:
                return at
            stack.append((char, here))
        elif char == "{":
            stack.append((char, here))
            state, table, parts = _KEY, here, 1
        elif char in "]}" and stack:
            stack.pop()
            here = stack[-1][1] if stack else here
        elif char == "," and stack:
            bracket, depth = stack[-1]
            if bracket == "{":
                state, table, parts = _KEY, depth, 1
            else:
                here = depth
    return None
