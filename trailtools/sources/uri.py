"""The URIs of the live sources (``s3://``, ``lookup://``, ``athena://``, ``cwlogs://``, ``lake://``): their parts and
their numeric options."""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from trailtools.errors import SourceError


def uri_parts(uri: str, scheme: str) -> tuple[str, str, dict[str, str]]:
    """``scheme://netloc/path?k=v`` -> (netloc, path without the leading slash, {k: v})."""
    parts = urlsplit(uri)
    if parts.scheme != scheme:
        raise SourceError(f"{uri!r} is not a {scheme}:// URI.")
    opts = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=False).items()}
    return parts.netloc, parts.path.lstrip("/"), opts


def int_option(opts: dict, name: str, default: int, uri: str) -> int:
    """A positive whole-number option of a URI (``?workers=8``), or one sentence saying it is not one."""
    try:
        value = int(opts.get(name, default))
    except ValueError:
        value = 0
    if value < 1:
        raise SourceError(f"{name}={opts.get(name)!r} in {uri} is not a positive whole number.")
    return value


def split_uri(uri: str, scheme: str) -> tuple[str, dict[str, str]]:
    """``scheme://NAME?k=v`` -> (NAME unquoted, {k: v}); NAME may hold ``/`` and ``:`` (an ARN, a log group)."""
    if not uri.startswith(f"{scheme}://"):
        raise SourceError(f"{uri!r} is not a {scheme}:// URI.")
    name, _, query = uri[len(scheme) + 3:].partition("?")
    opts = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=False).items()}
    return unquote(name), opts
