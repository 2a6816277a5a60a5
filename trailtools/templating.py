"""The HTML fragments (answer boxes, report appendices, tables) come from Jinja2 templates in
``trailtools/templates/``, rendered with autoescape on: every value is escaped by the environment, none by hand.

Values are escaped as :func:`html.escape` does (``&#x27;``, ``&quot;``), as before the templates, so that the HTML
of a report does not change with them; a value that is already HTML (a :class:`markupsafe.Markup`, such as the
result of :func:`render`) is written as it is.
"""
from __future__ import annotations

import html

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

__all__ = ["Markup", "macros", "render"]


def _escaped(value):
    return value if hasattr(value, "__html__") else Markup(html.escape(str(value)))


ENV = Environment(loader=PackageLoader("trailtools", "templates"), autoescape=True, finalize=_escaped,
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def render(name: str, **values) -> Markup:
    """The template ``name`` filled with ``values``, as HTML that a further template writes unescaped."""
    return Markup(ENV.get_template(name).render(**values))


def macros(name: str):
    """The macros of the template ``name``, as functions returning HTML (``macros("explorer.html.j2").title(t)``)."""
    return ENV.get_template(name).module
