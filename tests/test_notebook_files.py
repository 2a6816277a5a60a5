"""The committed notebooks are in the form JupyterLab writes, so a lab session leaves the checkout clean (issue 20
item 8): opening one changes nothing, and what ``make lab`` saves of a shipped notebook is its committed bytes."""
from __future__ import annotations

import copy
import json

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_output

from trailtools import labsave

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _as_jupyter_writes(nb) -> str:
    """What the Jupyter server writes for a notebook model (nbformat.writes: keys sorted, one-space indent, a
    newline at the end), after nbformat's own upgrade and validation."""
    nb = nbformat.from_dict(nb)
    nbformat.validate(nb)
    return nbformat.writes(nb, version=nbformat.NO_CONVERT) + "\n"


def test_every_shipped_notebook_is_known():
    assert {p.name for p in NOTEBOOKS} == labsave.SHIPPED and len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_in_the_form_jupyter_writes(path):
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)  # upgrades to the current minor version, adds missing cell ids
    assert (nb.nbformat, nb.nbformat_minor) == (4, nbformat.current_nbformat_minor)
    assert all(c.get("id") for c in nb.cells)
    assert _as_jupyter_writes(nb) == text
    # the kernel's own metadata (what JupyterLab sets on opening), so opening does not modify the notebook
    assert nb.metadata.kernelspec == labsave.KERNELSPEC
    assert nb.metadata.language_info == labsave.LANGUAGE_INFO
    assert _as_jupyter_writes(labsave.committed_form(json.loads(text))) == text


def test_the_metadata_is_what_the_kernel_reports():
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert {"display_name": spec.display_name, "language": spec.language, "name": "python3"} == labsave.KERNELSPEC
    info = dict(IPythonKernel.language_info)
    info.pop("version")
    assert info == labsave.LANGUAGE_INFO


@pytest.mark.parametrize("path", NOTEBOOKS[:2], ids=lambda p: p.name)
def test_a_lab_save_of_a_shipped_notebook_writes_its_committed_bytes(path, tmp_path):
    """What JupyterLab sends after opening and running it (another Python's language_info, outputs, execution
    counts, timings) goes through the pre-save hook and comes out as the committed bytes; another file keeps all."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    nb["metadata"]["language_info"]["version"] = "3.13.1"
    nb["metadata"]["kernelspec"]["display_name"] = "Python 3"
    for n, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = n + 1
        cell["outputs"] = [new_output("stream", text=f"out {n}\n")]
        cell["metadata"]["execution"] = {"iopub.status.busy": "2026-12-04T10:00:00Z"}
    saved = copy.deepcopy(nb)
    labsave.pre_save({"type": "notebook", "content": saved}, path.name)
    assert _as_jupyter_writes(saved) == text
    other = copy.deepcopy(nb)
    labsave.pre_save({"type": "notebook", "content": other}, "my-run.ipynb")
    assert other == nb
    labsave.pre_save({"type": "file", "content": "x"}, path.name)  # not a notebook: left alone


def test_a_new_notebook_is_put_in_its_committed_form(tmp_path):
    """`python -m trailtools.labsave NOTEBOOK` (for a notebook added to notebooks/): the committed bytes."""
    src = NOTEBOOKS[0]
    nb = json.loads(src.read_text(encoding="utf-8"))
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3"}, "language_info": {"name": "python"}}
    copy_ = tmp_path / src.name
    copy_.write_text(json.dumps(nb, indent=2), encoding="utf-8")
    assert labsave.write_committed(copy_) and copy_.read_bytes() == src.read_bytes()
    assert not labsave.write_committed(copy_)
