"""Vega in reports, without Altair (the process that writes a report never imports it): a spec as JSON that is safe
inside an HTML ``<script>`` element, the Vega bundle the page inlines (built once and kept), and the environment
variable that makes a report's kernel draw charts as their spec only (:mod:`trailtools.views.offline`).

An Altair spec's data is attacker-controlled text (user agents, user names, log lines). Written into a `<script>`
tag as plain JSON, a value containing `</script>` ends the tag. :func:`spec_json` escapes `<`, `>` and `&` (and the
JS line separators) as `\\uXXXX`, which is still the same JSON.
"""
from __future__ import annotations

import json
import os
from typing import Any

from trailtools.events.cache import cache_root

__all__ = ["STATIC_ENV", "spec_json", "vega_bundle"]

#: set (to "1") in the environment of the kernels that ``trailtools report`` starts
STATIC_ENV = "TRAILTOOLS_STATIC_CHARTS"

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_END = "\n//trailtools-bundle-end\n"


def spec_json(chart: Any) -> str:
    """The chart's Vega-Lite spec (or a spec dict) as JSON that is safe inside an HTML `<script>` element."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # These characters occur only inside JSON strings, where \uXXXX means the same character.
    return text.translate(str.maketrans(_ESCAPES))


def vega_bundle() -> str:
    """``vl_convert.javascript_bundle()`` (Vega, Vega-Lite and vega-embed, 0.9 MB: seconds to build), kept in the
    trailtools cache folder keyed by vl-convert's version, so that each report does not build it again."""
    import vl_convert  # noqa: PLC0415 (heavy, loaded on use)

    path = cache_root() / "vega" / f"bundle-{vl_convert.__version__}.js"
    try:
        text = path.read_text(encoding="utf-8")
        if text.endswith(_END):  # a whole file, not one cut short
            return text.removesuffix(_END)
    except OSError:
        pass
    js = vl_convert.javascript_bundle()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(js + _END, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs the time
        pass
    return js
