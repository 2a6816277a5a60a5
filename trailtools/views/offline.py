"""Charts that render in JupyterLab with no network, and still carry their spec for the offline HTML reports.

Altair 6 writes a Vega-Lite 6 mimetype that JupyterLab 4.6's built-in renderer does not handle, and its default
HTML loads Vega from a CDN: on an air-gapped workstation a chart shows nothing. :func:`enable_offline` registers and
enables the ``trailtools`` Altair renderer, whose output (one mimebundle per chart) holds

- ``application/vnd.jupyter.widget-view+json``: Altair's ``JupyterChart`` widget with Vega, Vega-Lite and vega-embed
  bundled by vl-convert (``JupyterChart.enable_offline()``): what JupyterLab shows (its widget renderer ranks first);
- ``application/vnd.vegalite.v6+json``: the spec, which :mod:`trailtools.report.html` renders with the Vega bundle
  inlined once per report (a static page cannot run a widget);
- ``text/html``: Altair's usual HTML, for frontends without the widget manager (it needs the CDN), and
  ``text/plain``.

Importing this module enables it, and every chart module of :mod:`trailtools.views` imports it, so the notebooks need
no call of their own; ``enable_offline(False)`` goes back to Altair's default renderer.

A kernel that ``trailtools report`` starts has :data:`STATIC_ENV` set: there, charts are only their spec (and
text/plain), the ``trailtools-static`` renderer. A static page cannot run a widget, and each widget's state (the
0.9 MB Vega bundle) would be written into the executed notebook, after every cell.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

import altair as alt

from trailtools.events.cache import cache_root
from trailtools.report.vega import STATIC_ENV, vega_bundle

__all__ = ["enable_offline", "jupyterchart_offline", "offline_renderer", "static_renderer", "vega_bundle", "RENDERER",
           "STATIC_ENV", "STATIC_RENDERER", "VEGALITE_MIME", "WIDGET_MIME"]

RENDERER = "trailtools"
STATIC_RENDERER = "trailtools-static"
VEGALITE_MIME = "application/vnd.vegalite.v6+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def jupyterchart_offline() -> None:
    """``JupyterChart.enable_offline()``, with vl-convert's bundle (0.9 MB, 1.5 s to build) kept in the trailtools
    cache folder, keyed by the versions and source it is built from: every new kernel would build it again."""

    import vl_convert  # noqa: PLC0415 (heavy, loaded on use)
    from altair import JupyterChart  # noqa: PLC0415 (heavy, loaded on use)
    from altair.jupyter.jupyter_chart import load_js_src  # noqa: PLC0415 (heavy, loaded on use)

    if JupyterChart._is_offline:
        return

    key = hashlib.sha256("\0".join([alt.__version__, vl_convert.__version__, load_js_src()]).encode()).hexdigest()
    path = cache_root() / "vega" / f"jupyterchart-{key[:24]}.js"
    try:
        JupyterChart._esm, JupyterChart._is_offline = path.read_text(encoding="utf-8"), True
        return
    except OSError:
        pass
    JupyterChart.enable_offline()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(JupyterChart._esm, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only cache only costs the time
        pass


def offline_renderer(spec: dict, **metadata: Any) -> dict:
    """An Altair renderer: the offline JupyterChart widget, the Vega-Lite spec and Altair's HTML in one bundle."""
    from altair import JupyterChart  # noqa: PLC0415 (heavy, loaded on use)
    from altair.vegalite.v6.display import html_renderer  # noqa: PLC0415 (heavy, loaded on use)

    jupyterchart_offline()  # vl-convert's bundle of Vega instead of the CDN
    bundle = dict(html_renderer(spec, **metadata))  # text/html (CDN) + text/plain fallbacks
    widget = JupyterChart(chart=alt.Chart.from_dict(spec), embed_options=metadata.get("embed_options"))
    data = widget._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    bundle[WIDGET_MIME] = data[WIDGET_MIME]
    bundle[VEGALITE_MIME] = spec
    return bundle


def static_renderer(spec: dict, **_metadata: Any) -> dict:
    """An Altair renderer for headless runs: the Vega-Lite spec (what the HTML report draws) and a text/plain."""
    return {VEGALITE_MIME: spec, "text/plain": "<Chart: drawn in the HTML report>"}


alt.renderers.register(RENDERER, offline_renderer)
alt.renderers.register(STATIC_RENDERER, static_renderer)


def enable_offline(enable: bool = True) -> None:
    """Show Altair charts offline (the ``trailtools`` renderer, or ``trailtools-static`` where :data:`STATIC_ENV`
    is set), or with Altair's default renderer again."""
    if not enable:
        alt.renderers.enable("default")
    else:
        alt.renderers.enable(STATIC_RENDERER if os.environ.get(STATIC_ENV) == "1" else RENDERER)


# every chart module imports this one: its charts render offline from the start
enable_offline()
