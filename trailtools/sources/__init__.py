"""Sources, chosen by one URI string the way papermill picks an I/O handler: a registry keyed by scheme.

``register("s3://", loader)`` adds a scheme; :func:`get_loader` picks the loader for a URI. A loader is a callable
``loader(uri, query, options) -> LoadResult``. A URI with no registered scheme is a local path.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from trailtools.demo import ensure_demo_account
from trailtools.errors import SourceError
from trailtools.sources import demo, local

_REGISTRY: dict[str, Callable] = {}
_LOCAL: list[Callable] = []


def register(prefix: str, loader: Callable) -> None:
    """Route URIs starting with ``prefix`` (``"s3://"``, or an exact name such as ``"demo"``) to ``loader``."""
    _REGISTRY[prefix] = loader


def register_local(loader: Callable) -> None:
    """The loader for plain paths (anything no registered prefix claims)."""
    _LOCAL[:] = [loader]


def get_loader(uri: str) -> Callable:
    for prefix in sorted(_REGISTRY, key=len, reverse=True):
        if uri == prefix or (prefix.endswith("://") and uri.startswith(prefix)):
            return _REGISTRY[prefix]
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        known = ", ".join(sorted(p for p in _REGISTRY if p.endswith("://"))) or "none yet"
        raise SourceError(
            f"trailtools cannot read {scheme}:// sources: use a local path, 'demo', or one of: {known}."
        )
    return _LOCAL[0]


#: the schemes that read from AWS itself and take ``?profile=`` / ``?region=`` options in the URI
LIVE_SCHEMES = ("s3://", "lookup://", "athena://", "cwlogs://", "lake://")


def with_credentials(uri: str, *, profile: str | None = None, region: str | None = None) -> str:
    """``uri`` with a notebook's ``profile`` (and ``region``) added as URI options when it names a live source and
    does not set them itself; any other URI comes back unchanged. Credentials themselves never go in a URI: the
    profile names an entry of the standard boto3 chain (~/.aws/config, SSO)."""

    if not uri.startswith(LIVE_SCHEMES) or not (profile or region):
        return uri
    have = parse_qs(urlsplit(uri).query)
    extra = {k: v for k, v in (("profile", profile), ("region", region)) if v and k not in have}
    if not extra:
        return uri
    return uri + ("&" if "?" in uri else "?") + urlencode(extra)


def local_folder(uri: str) -> Path | None:
    """The folder or file on this machine a source URI reads (``demo``: the demo account's trail); None for a
    source read from elsewhere (a registered scheme)."""
    if uri == "demo":
        return ensure_demo_account() / "AWSLogs"
    if any(uri == p or (p.endswith("://") and uri.startswith(p)) for p in _REGISTRY) or "://" in uri:
        return None
    return Path(os.path.expanduser(uri))


def schemes() -> list[str]:
    return sorted(_REGISTRY)


def _register_builtin() -> None:
    register_local(local.load_local)
    register("demo", demo.load_demo)
    # the live sources import boto3 only when used
    register("s3://", _lazy("s3", "load_s3"))
    register("lookup://", _lazy("lookup", "load_lookup"))
    register("athena://", _lazy("athena", "load_athena"))
    register("cwlogs://", _lazy("cwlogs", "load_cwlogs"))
    register("lake://", _lazy("lake", "load_lake"))


def _lazy(module: str, name: str) -> Callable:
    def loader(uri, query, options):

        return getattr(importlib.import_module(f"{__name__}.{module}"), name)(uri, query, options)

    loader.__name__ = f"load_{module}"
    return loader


_register_builtin()
