"""gitignore pattern lines, read and matched exactly as git reads and matches them.

A slice must leave out what git would ignore for the same lines, no more and no less: one
path more is a hidden file, one path less is a leak. General-purpose gitignore libraries
differ from git at the edges (``dir/**`` against the directory itself, a ``**`` glued to a
literal, bracket expressions, escaped trailing spaces), so this module follows git's own rules
for reading a pattern file and for matching (``wildmatch`` with ``WM_PATHNAME``) and compiles
each pattern to one regular expression over the path's bytes, as git compares bytes.

The agreement is checked by a property test against ``git ls-files --ignored``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator

from crossdock.gitslice.errors import GitSliceError

#: Characters that end the literal prefix of a pattern (git's ``is_glob_special``).
_GLOB_SPECIAL = frozenset(b"*?[\\")

_SLASH = ord("/")

# Character classes of bracket expressions, by git's own (locale-free, ASCII) definitions.
_PRINTABLE = range(0x20, 0x7F)
_SPACE = frozenset(b" \t\n\r")
_ALPHA = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGIT = frozenset(b"0123456789")
_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": _ALPHA | _DIGIT,
    b"alpha": _ALPHA,
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset([*range(0x20), 0x7F]),
    b"digit": _DIGIT,
    b"graph": frozenset(c for c in _PRINTABLE if c not in _SPACE),
    b"lower": frozenset(b"abcdefghijklmnopqrstuvwxyz"),
    b"print": frozenset(_PRINTABLE),
    b"punct": frozenset(c for c in _PRINTABLE if c not in _ALPHA | _DIGIT | _SPACE),
    b"space": _SPACE,
    b"upper": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"xdigit": _DIGIT | frozenset(b"abcdefABCDEF"),
}


class _Malformed(GitSliceError):  # an internal signal: it never leaves this module
    """The pattern can never match (git's ``WM_ABORT_ALL`` on a broken bracket or escape)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pattern:
    """One pattern line, ready to match."""

    text: bytes
    negative: bool
    #: Only directories match (the line ended with ``/``).
    dir_only: bool
    #: Matched against the last path component only (no ``/`` inside the pattern).
    basename: bool
    #: None when the pattern can never match anything.
    regex: re.Pattern[bytes] | None

    def matches(self, path: bytes, name: bytes, *, is_dir: bool) -> bool:
        """True when this pattern matches ``path`` (whose last component is ``name``)."""
        if self.regex is None or (self.dir_only and not is_dir):
            return False
        return self.regex.fullmatch(name if self.basename else path) is not None


def pattern_lines(text: bytes) -> Iterator[bytes]:
    """The pattern lines of an ignore file's bytes, read as git reads them.

    Lines end at ``\\n`` only (a ``\\r`` before it is dropped); empty lines and lines starting
    with ``#`` are skipped; unescaped trailing spaces are trimmed; a UTF-8 byte order mark at
    the start is skipped.
    """
    text = text.removeprefix(b"\xef\xbb\xbf")
    for raw in text.split(b"\n"):
        if not raw or raw.startswith(b"#"):
            continue
        line = _trim_trailing_spaces(raw.removesuffix(b"\r"))
        if line:
            yield line


def _trim_trailing_spaces(line: bytes) -> bytes:
    # A space escaped with a backslash stays; git scans left to right, skipping escapes.
    end = len(line)
    last_space: int | None = None
    i = 0
    while i < end:
        char = line[i]
        if char == ord(" "):
            if last_space is None:
                last_space = i
        elif char == ord("\\"):
            i += 1
            if i == end:
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def compile_patterns(lines: Iterable[bytes]) -> tuple[Pattern, ...]:
    """Each line (from :func:`pattern_lines`) as a :class:`Pattern`, in order."""
    return tuple(_compile(line) for line in lines)


def _compile(line: bytes) -> Pattern:
    text = line
    negative = line.startswith(b"!")
    if negative:
        line = line[1:]
    dir_only = line.endswith(b"/")
    if dir_only:
        line = line[:-1]
    basename = b"/" not in line
    prefix = _literal_length(line)
    if not basename and line.startswith(b"/"):
        line = line[1:]
        prefix -= 1
    try:
        # git compares the literal prefix as is and hands only the rest to wildmatch, so a
        # ``**`` right after the prefix counts as being at the start of the pattern.
        source = re.escape(line[:prefix]) + _translate(line[prefix:]) if not basename \
            else _translate(line)
        regex: re.Pattern[bytes] | None = re.compile(source, re.DOTALL) if line else None
    except _Malformed:
        regex = None
    return Pattern(text=text, negative=negative, dir_only=dir_only, basename=basename,
                   regex=regex)


def _literal_length(pattern: bytes) -> int:
    for index, char in enumerate(pattern):
        if char in _GLOB_SPECIAL:
            return index
    return len(pattern)


def _translate(pattern: bytes) -> bytes:
    """A regular expression (for ``fullmatch``) that matches what git's wildmatch matches."""
    out: list[bytes] = []
    i, end = 0, len(pattern)
    while i < end:
        char = pattern[i]
        if char == ord("\\"):
            if i + 1 == end:
                raise _Malformed
            out.append(re.escape(pattern[i + 1:i + 2]))
            i += 2
        elif char == ord("?"):
            out.append(b"[^/]")
            i += 1
        elif char == ord("*"):
            i = _star(pattern, i, out)
        elif char == ord("["):
            i = _bracket(pattern, i, out)
        else:
            out.append(re.escape(pattern[i:i + 1]))
            i += 1
    return b"".join(out)


def _star(pattern: bytes, i: int, out: list[bytes]) -> int:
    start = i
    while i < len(pattern) and pattern[i] == ord("*"):
        i += 1
    rest = pattern[i:]
    # ``**`` crosses directories only as a whole component: after a slash (or at the start)
    # and before a slash (or at the end); anywhere else it is one ``*``.
    whole = i - start > 1 and (start == 0 or pattern[start - 1] == _SLASH) \
        and (not rest or rest.startswith((b"/", b"\\/")))
    if not whole:
        out.append(b"[^/]*")
    elif rest.startswith(b"/"):
        out.append(b"(?:.*/)?")  # ``**/``: zero or more whole directories
        i += 1
    else:
        out.append(b".*")
    return i


def _bracket(pattern: bytes, i: int, out: list[bytes]) -> int:
    """``[...]`` at ``i``: its members as a regex class; the index after its ``]``."""
    i += 1
    negated = i < len(pattern) and pattern[i] in b"!^"
    if negated:
        i += 1
    chosen, i = _bracket_members(pattern, i)
    members = (set(range(256)) - chosen) if negated else chosen
    members.discard(_SLASH)  # with WM_PATHNAME a bracket never matches a slash
    out.append(b"[" + b"".join(re.escape(bytes([m])) for m in sorted(members)) + b"]"
               if members else b"(?!)")
    return i + 1


def _bracket_members(pattern: bytes, i: int) -> tuple[set[int], int]:
    """The bytes a bracket body starting at ``i`` names, and the index of its closing ``]``.

    As in git: a ``]`` first is a member, ``\\`` escapes, ``a-z`` is a range (a ``-`` first
    or last is a member), ``[:name:]`` is a class; an unclosed bracket never matches.
    """
    end = len(pattern)
    chosen: set[int] = set()
    previous: int | None = None
    first = True
    while first or pattern[i] != ord("]"):
        first = False
        char = _at(pattern, i)
        if char == ord("\\"):
            i += 1
            previous = _at(pattern, i)
            chosen.add(previous)
        elif char == ord("-") and previous is not None and i + 1 < end \
                and pattern[i + 1] != ord("]"):
            i += 1
            high = _at(pattern, i)
            if high == ord("\\"):
                i += 1
                high = _at(pattern, i)
            chosen.update(range(previous, high + 1))
            previous = None
        elif char == ord("[") and pattern[i + 1:i + 2] == b":" and _class_end(pattern, i) > 0:
            close = _class_end(pattern, i)
            members = _CLASSES.get(pattern[i + 2:close - 1])
            if members is None:
                raise _Malformed
            chosen.update(members)
            previous = None
            i = close
        else:
            chosen.add(char)
            previous = char
        i += 1
        _at(pattern, i)
    return chosen, i


def _at(pattern: bytes, i: int) -> int:
    if i >= len(pattern):
        raise _Malformed
    return pattern[i]


def _class_end(pattern: bytes, i: int) -> int:
    """The index of the ``]`` closing a ``[:name:]`` at ``i``; 0 when it is a plain ``[``.

    git looks for the first ``]``: none at all makes the whole pattern malformed.
    """
    close = pattern.find(b"]", i + 2)
    if close < 0:
        raise _Malformed
    return close if close - 1 >= i + 2 and pattern[close - 1] == ord(":") else 0
