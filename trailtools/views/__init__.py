"""Views: builders that return Altair charts and never display them, and the one safe way to serialize a spec.

An Altair spec's data is attacker-controlled text (user agents, user names, log lines). Written into a `<script>`
tag as plain JSON, a value containing `</script>` ends the tag. `spec_json` escapes `<`, `>` and `&` (and the JS line
separators) as `\\uXXXX`, which is still the same JSON.
"""
from __future__ import annotations

import json
from typing import Any

from trailtools.views.offline import enable_offline
from trailtools.views.timeline import instance_timeline

__all__ = ["enable_offline", "instance_timeline", "spec_json"]

# Charts render with no network in JupyterLab (Vega bundled by vl-convert, not loaded from a CDN): see offline.py.
enable_offline()

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def spec_json(chart: Any) -> str:
    """The chart's Vega-Lite spec (or a spec dict) as JSON that is safe inside an HTML `<script>` element."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # These characters occur only inside JSON strings, where \uXXXX means the same character.
    return text.translate(str.maketrans(_ESCAPES))
