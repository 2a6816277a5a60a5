"""Views: builders that return Altair charts and never display them, and the one safe way to serialize a spec.

An Altair spec's data is attacker-controlled text (user agents, user names, log lines). Written into a `<script>`
tag as plain JSON, a value containing `</script>` ends the tag. `spec_json` escapes `<`, `>` and `&` (and the JS line
separators) as `\\uXXXX`, which is still the same JSON.

Importing this package imports no Altair (two seconds, most of it jsonschema's format checkers): the investigations'
tables and answer boxes, and their command-line runs, need none. Each chart module imports
:mod:`trailtools.views.offline`, which shows charts offline in JupyterLab (Vega bundled by vl-convert, not loaded from
a CDN): a chart never exists before that is done.
"""
from __future__ import annotations

from trailtools.report.vega import spec_json

__all__ = ["enable_offline", "instance_timeline", "spec_json"]


def __getattr__(name: str):
    """``enable_offline`` and ``instance_timeline``, imported (with Altair) when first asked for."""
    if name == "enable_offline":
        from trailtools.views.offline import enable_offline  # noqa: PLC0415 (Altair, on use)

        return enable_offline
    if name == "instance_timeline":
        from trailtools.views.timeline import instance_timeline  # noqa: PLC0415 (Altair, on use)

        return instance_timeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
