"""The answer box every investigation opens with: a headline and the details under it, in one framed block."""
from __future__ import annotations

from trailtools.templating import Markup, render


def answer_box(headline: str, body_html: str = ""):
    """An IPython HTML object: ``headline`` is text (escaped by the template); ``body_html`` is HTML (a rendered
    template, or a string that must already be escaped HTML)."""
    from IPython.display import HTML  # noqa: PLC0415 (heavy, loaded on use)

    return HTML(str(render("answer_box.html.j2", headline=headline, body=Markup(body_html))))
