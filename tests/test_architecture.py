"""The package's shape holds: folders by role, no import circles, no private names across modules, small modules,
notebooks committed without outputs, and every investigation parameter declared in its notebook and its
``investigate()`` signature only (the CLI verbs and reports are derived from the registry)."""
import ast
import inspect
import json

import pytest
from conftest import ROOT

from trailtools import cli
from trailtools.investigations import registry

PACKAGE = ROOT / "trailtools"
MAX_FLAT_MODULES = 12
MAX_MODULE_LINES = 800


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _imports(tree: ast.Module, modules: set[str]):
    """(imported module, names taken from it, at top level?) for every import of a trailtools module."""
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trailtools"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    yield sub, [], id(node) in top
                else:
                    yield node.module, [alias.name], id(node) in top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("trailtools"):
                    yield alias.name, [], id(node) in top


def test_at_most_twelve_modules_flat_in_the_package():
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= MAX_FLAT_MODULES, flat


def test_no_module_over_800_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, long


def test_no_import_circles():
    mods = _modules()
    graph = {m: {dep for dep, _, _ in _imports(tree, set(mods)) if dep in mods and dep != m}
             for m, tree in mods.items()}
    # a package's __init__ importing its own submodules is how a package exposes them, not a circle of two modules
    for m in graph:
        graph[m] = {d for d in graph[m] if not d.startswith(m + ".")}
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, circles


def test_no_private_names_imported_across_modules():
    mods = _modules()
    native = {p.stem for p in PACKAGE.rglob("*.c")}  # the C extensions (_scan, _listing) are modules, not names
    private = [(m, dep, n) for m, tree in mods.items() for dep, names, _ in _imports(tree, set(mods))
               for n in names if n.startswith("_") and not n.startswith("__") and n not in native]
    assert not private, private


def test_committed_notebooks_have_no_outputs():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, path.name


@pytest.mark.parametrize("name", sorted(registry.INVESTIGATIONS))
def test_each_parameter_is_declared_in_the_notebook_and_the_signature(name):
    inv = registry.get(name)
    notebook = {p.name for p in inv.parameters()} - set(registry.REPORT_ONLY)
    signature = set(inspect.signature(inv.investigate()).parameters)
    assert notebook == signature


@pytest.mark.parametrize("name", sorted(registry.INVESTIGATIONS))
def test_each_investigation_has_a_cli_verb_with_the_notebooks_options(name, capsys):
    inv = registry.get(name)
    with pytest.raises(SystemExit):
        cli.main([name, "--help"])
    shown = capsys.readouterr().out
    for p in inv.parameters():
        if p.name in registry.REPORT_ONLY:
            continue
        assert (p.name if p.name == inv.argument else p.option) in shown
    assert "--json" in shown


def test_the_investigation_objects_offer_the_same_methods():
    from trailtools.investigations.cost.gather import CostInvestigation
    from trailtools.investigations.login.gather import LoginInvestigation
    from trailtools.investigations.reboot.gather import RebootInvestigation

    for cls in (RebootInvestigation, LoginInvestigation, CostInvestigation):
        for method in ("answer_box", "summary_lines", "to_json", "all_findings"):
            assert callable(getattr(cls, method, None)), (cls.__name__, method)
