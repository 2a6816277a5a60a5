"""The answer box every investigation opens with: a headline and the details under it, in one framed block."""
from __future__ import annotations

import html


def answer_box(headline: str, body_html: str = ""):
    """An IPython HTML object: ``headline`` is text (escaped here); ``body_html`` must already be escaped HTML."""
    from IPython.display import HTML  # noqa: PLC0415 (heavy, loaded on use)

    return HTML("<div class='trailtools-verdict' style='border:2px solid #444;padding:0.8em;border-radius:6px'>"
                f"<p style='font-size:1.2em'><b>{html.escape(headline)}</b></p>{body_html}</div>")
