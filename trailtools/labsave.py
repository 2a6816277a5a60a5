"""What JupyterLab may save of the shipped notebooks (``make lab``): the checkout stays clean after a lab session.

Opening a notebook in JupyterLab starts its kernel, and the kernel's answer rewrites two metadata entries
(``kernelspec.display_name`` and ``language_info``, with the Python version of that machine); the notebook is then
"modified" and JupyterLab's autosave writes it back into the repository, as it does with the outputs and execution
counts of a run. Two things keep the repository's copies unchanged:

- the committed notebooks are in the form JupyterLab writes (nbformat 4.5, cell ids, keys sorted, one-space indent)
  with the metadata ipykernel reports (:data:`KERNELSPEC`, :data:`LANGUAGE_INFO`), so on this project's Python
  opening one does not even mark it modified (``tests/test_notebook_files.py`` checks both);
- ``make lab`` installs :func:`pre_save` as the server's pre-save hook: a shipped notebook (by its name) is saved
  with that metadata whatever the kernel said, and without outputs and execution counts (the notebooks are
  committed without them; File > Save Notebook As ... another name keeps a run's outputs).
"""
from __future__ import annotations

from pathlib import Path

#: The notebooks shipped with trailtools (the package's ``notebooks`` folder links to the repository's).
SHIPPED = frozenset(p.name for p in (Path(__file__).parent / "notebooks").glob("*.ipynb"))

#: The kernelspec ipykernel installs (``python3``), as JupyterLab writes it.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: ipykernel's ``language_info`` without its ``version`` (the Python of whichever machine ran it).
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def committed_form(nb: dict) -> dict:
    """The notebook (nbformat v4, as a dict) as it is committed: the project's kernel metadata, no outputs, no
    execution counts. Changes and returns ``nb``."""
    meta = nb.setdefault("metadata", {})
    meta["kernelspec"] = dict(KERNELSPEC)
    meta["language_info"] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in LANGUAGE_INFO.items()}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            (cell.get("metadata") or {}).pop("execution", None)  # JupyterLab's recorded timings, if turned on
    return nb


def pre_save(model: dict, path: str, **_kwargs) -> None:
    """Jupyter server pre-save hook (``ContentsManager.pre_save_hook``): a shipped notebook is saved in its
    committed form; any other file as it is."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    if Path(str(path)).name in SHIPPED:
        committed_form(model["content"])


def write_committed(path: Path) -> bool:
    """Rewrite the notebook at ``path`` in its committed form (as JupyterLab writes it); True if it changed."""
    import nbformat  # noqa: PLC0415 (heavy, loaded on use)

    before = path.read_text(encoding="utf-8")
    nb = nbformat.from_dict(committed_form(nbformat.reads(before, as_version=4)))
    nbformat.validate(nb)
    after = nbformat.writes(nb, version=nbformat.NO_CONVERT) + "\n"
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


if __name__ == "__main__":  # python -m trailtools.labsave notebooks/*.ipynb: a new notebook in its committed form
    import sys

    for arg in sys.argv[1:]:
        print(("rewritten: " if write_committed(Path(arg)) else "already committed form: ") + arg)
