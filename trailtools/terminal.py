"""What the CLI prints to a terminal: evidence text with every control character made visible.

CloudTrail strings (userName, userAgent, requestParameters, file names, error messages) are written by whoever
wrote the evidence. Printed raw, ``ESC[2K`` plus ``\\r`` erases and rewrites the verdict line on screen, an OSC 52
sequence (``ESC]52;c;...BEL``) writes the analyst's clipboard, and bidi overrides (U+202E ...) show text in another
order than it is stored. :func:`visible` is the one sanitizer every printed string passes through: each character
of Unicode category Cc (C0 controls, DEL, C1 controls), Cf (format: bidi embeddings, overrides and isolates
U+202A-202E and U+2066-2069, zero-width characters, invisible tag characters U+E0000-E007F, ...), Cs (lone
surrogates) or Zl/Zp (U+2028, U+2029) is shown as a Python-style escape: ``\\r``, ``\\x1b``, ``\\x9b``, ``\\u202e``,
``\\ud800``, ``\\U000e0041``. Everything else, including a backslash and non-ASCII letters, is left as it is.

- :func:`visible` escapes newlines too (one value, one line); ``keep_newlines=True`` keeps ``\\n`` for texts made of
  several lines whose values were made visible one by one.
- :func:`json_visible` makes the same characters JSON escapes (``\\u001b``, ``\\u202e``): the line still parses to
  exactly the same data, so ``--format jsonl`` is both exact and safe to show.
- :func:`guard` wraps ``sys.stdout`` and ``sys.stderr`` while the CLI runs, when they are terminals, so whatever else
  writes to them (warnings, logging, a traceback, a library) goes through :func:`visible` as well.
"""
from __future__ import annotations

import contextlib
import re
import sys

__all__ = ["UNSAFE", "echo", "guard", "json_visible", "raw_stream", "visible"]

#: Unicode categories Cc, Cf, Cs, Zl and Zp (from unicodedata 14.0, plus the format controls Unicode 15 added at
#: U+13439-1343F); tests/test_terminal.py checks it against the running Python's unicodedata.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_UNSAFE_BUT_NEWLINE = re.compile(UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f", 1))


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    c = m.group(0)
    if c in _SHORT:
        return _SHORT[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def visible(text, *, keep_newlines: bool = False) -> str:
    """``text`` (made a string) with every control, format, surrogate and line-separator character shown as an
    escape (``\\x1b``, ``\\u202e``); newlines too unless ``keep_newlines``."""
    s = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else UNSAFE
    return pattern.sub(_escape, s) if pattern.search(s) else s


def _json_escape(m: re.Match) -> str:
    n = ord(m.group(0))
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xd800 + (n >> 10):04x}\\u{0xdc00 + (n & 0x3ff):04x}"


def json_visible(text: str) -> str:
    """A JSON text (``json.dumps(..., ensure_ascii=False)``) with the same characters as JSON escapes: the same
    data, nothing a terminal acts on. Newlines are kept: json.dumps writes them only between tokens (indentation),
    never inside a string, and outside strings there is nothing else but printable ASCII and spaces."""
    return _UNSAFE_BUT_NEWLINE.sub(_json_escape, text) if _UNSAFE_BUT_NEWLINE.search(text) else text


def echo(*parts, file=None, sep: str = " ", keep_newlines: bool = False) -> None:
    """``print`` with every part made :func:`visible` (to ``file``, default standard output)."""
    print(visible(sep.join(str(p) for p in parts), keep_newlines=keep_newlines), file=file or sys.stdout)


class _VisibleStream:
    """A text stream that writes through :func:`visible` (newlines kept); the rest is the wrapped stream's."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, s: str) -> int:
        self._stream.write(visible(s, keep_newlines=True))
        return len(s)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def raw_stream(stream):
    """The terminal under a :func:`guard` wrapper (for the progress bar's own ``\\r``); ``stream`` otherwise."""
    return stream._stream if isinstance(stream, _VisibleStream) else stream


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def guard():
    """While inside: ``sys.stdout`` and ``sys.stderr``, where they are terminals, write through :func:`visible`."""
    saved = sys.stdout, sys.stderr
    if _isatty(sys.stdout) and not isinstance(sys.stdout, _VisibleStream):
        sys.stdout = _VisibleStream(sys.stdout)
    if _isatty(sys.stderr) and not isinstance(sys.stderr, _VisibleStream):
        sys.stderr = _VisibleStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
