"""The investigations, registered once. The CLI verbs (``trailtools reboot|login|cost``), ``trailtools report NAME``
and ``trailtools report --list`` are derived from here, their options from each notebook's parameters cell: a
parameter is declared in its notebook and in its ``investigate()`` signature, nowhere else.

To add an investigation: a package under ``trailtools/investigations/`` with ``gather.investigate(**parameters)``
returning an object with the methods of :mod:`trailtools.investigations.base`, a notebook in ``notebooks/`` whose
parameters cell names the same parameters, and one :class:`Investigation` line below.
"""
from __future__ import annotations

import functools
import importlib
import importlib.resources
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trailtools.errors import TrailtoolsError

#: The investigation notebooks, shipped in the package (``trailtools/notebooks`` is the repository's top-level
#: ``notebooks/`` folder, linked, so there is one copy): found the same way in a checkout and in an installed wheel.
NOTEBOOKS = Path(str(importlib.resources.files("trailtools") / "notebooks"))
#: Set by ``trailtools report`` (and only there): the notebook writes its findings JSON to this path.
REPORT_ONLY = ("findings_json",)


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook's parameters cell, as papermill reads it."""

    name: str
    type_name: str      # "str", "Optional[str]", "int", "bool" ...
    default: str        # the default as written in the cell (Python source text)
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Investigation:
    name: str           # the CLI verb and the report's name
    question: str       # what it answers, in one line
    notebook: str       # its notebook in trailtools/notebooks
    key: str            # the parameter that names a report of it (the instance, the principal ...)
    module: str         # where its investigate() is (imported when it runs)
    argument: str | None = None  # the parameter the CLI verb takes as a positional argument

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOKS / self.notebook

    def parameters(self) -> list[Parameter]:
        """The notebook's parameters, read from its parameters cell (once per process)."""
        return list(_parameters(self.notebook_path))

    def investigate(self) -> Callable:
        return importlib.import_module(self.module).investigate


INVESTIGATIONS: dict[str, Investigation] = {i.name: i for i in (
    Investigation("reboot", "why did this EC2 instance restart?", "reboot.ipynb", "instance",
                  "trailtools.investigations.reboot.gather", argument="instance"),
    Investigation("login", "did someone log in who shouldn't have?", "suspicious_login.ipynb", "principal",
                  "trailtools.investigations.login.gather"),
    Investigation("cost", "who or what made the bill jump?", "cost_spike.ipynb", "cost_source",
                  "trailtools.investigations.cost.gather"),
    Investigation("hunt", "which detection rules fire in this window, and how do their findings chain?",
                  "hunt.ipynb", "source", "trailtools.rules.hunt", argument="source"),
)}


def get(name: str) -> Investigation:
    """The investigation called ``name``; one sentence naming the others when there is none."""
    try:
        return INVESTIGATIONS[name]
    except KeyError:
        raise TrailtoolsError(f"There is no {name!r} investigation: choose one of {', '.join(INVESTIGATIONS)} "
                              "(trailtools report --list shows them with their parameters).") from None


def describe() -> str:
    """The investigations and their parameters (from each notebook's parameters cell), for ``--list``."""
    lines = []
    for inv in INVESTIGATIONS.values():
        lines.append(f"{inv.name}: {inv.question} (notebooks/{inv.notebook}; report named by {inv.key})")
        for p in inv.parameters():
            lines.append(f"  -p {p.name:<14} {p.type_name:<14} default {p.default:<24} {p.help}")
    return "\n".join(lines)


#: A line of a parameters cell, ``name: type = default  # help``: papermill's own pattern (PythonTranslator, BSD-3),
#: so that the CLI reads the parameters as papermill will inject them, without importing papermill (two seconds:
#: nbformat's JSON-schema validators compile grammars), which every CLI run would pay.
PARAMETER_PATTERN = re.compile(
    r"^(?P<target>\w[\w_]*)\s*(:\s*[\"']?(?P<annotation>\w[\w_\[\],\s]*)[\"']?\s*)?=\s*(?P<value>.*?)"
    r"(\s*#\s*(type:\s*(?P<type_comment>[^\s]*)\s*)?(?P<help>.*))?$")


@functools.cache
def _parameters(notebook: Path) -> tuple[Parameter, ...]:
    """The parameters of the notebook's cell tagged ``parameters``, as ``papermill.inspect_notebook`` reads them
    (a test holds the two equal), one assignment a line."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return ()
    source = cell.get("source", "")
    out = []
    for line in ("".join(source) if isinstance(source, list) else source).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.count("=") != 1:
            continue
        match = PARAMETER_PATTERN.match(line)
        if match is not None:
            m = match.groupdict()
            out.append(Parameter(m["target"].strip(), str(m["annotation"] or m["type_comment"] or None).strip(),
                                 str(m["value"]).strip(), str(m["help"] or "").strip()))
    return tuple(out)
