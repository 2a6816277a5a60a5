"""Sources, chosen by one URI string the way papermill picks an I/O handler: a registry keyed by scheme.

``register("s3://", loader)`` adds a scheme; :func:`get_loader` picks the loader for a URI. A loader is a callable
``loader(uri, query, options) -> LoadResult``. A URI with no registered scheme is a local path.
"""
from __future__ import annotations

from typing import Callable

from ..errors import SourceError

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


def schemes() -> list[str]:
    return sorted(_REGISTRY)


def _register_builtin() -> None:
    from . import demo, local

    register_local(local.load_local)
    register("demo", demo.load_demo)


_register_builtin()
