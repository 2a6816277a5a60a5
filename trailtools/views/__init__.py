"""Views: builders that return Altair charts and never display them, and the one safe way to serialize a spec.

An Altair spec's data is attacker-controlled text (user agents, user names, log lines). Written into a `<script>`
tag as plain JSON, a value containing `</script>` ends the tag. `spec_json` escapes `<`, `>` and `&` (and the JS line
separators) as `\\uXXXX`, which is still the same JSON.
"""
from __future__ import annotations

from trailtools.report.vega import spec_json
from trailtools.views.offline import enable_offline
from trailtools.views.timeline import instance_timeline

__all__ = ["enable_offline", "instance_timeline", "spec_json"]

# Charts render with no network in JupyterLab (Vega bundled by vl-convert, not loaded from a CDN): see offline.py.
enable_offline()
