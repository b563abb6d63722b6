"""notebooks/colab_sample.ipynb runs headlessly (nbclient, this venv's python
as the kernel) against a tiny checkpoint trained here, from a run directory
and from a .tar.gz of one; the install cell is skipped."""

import json
import os
import re
import sys
import tarfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat
from nbclient import NotebookClient
import pytest

from configs import cgan
from sigjax import train_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(REPO, "notebooks", "colab_sample.ipynb")
KERNEL = "sigjax_test_venv"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("nb_run") / "tiny_run"
  config = cgan.get_config("test")
  config.train.steps = 2
  train_loop.run(config, str(workdir))
  return workdir, config


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch):
  """A kernelspec whose argv is this interpreter, on a temp JUPYTER_PATH."""
  spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
  spec_dir.mkdir(parents=True)
  (spec_dir / "kernel.json").write_text(json.dumps({
      "argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
               "{connection_file}"],
      "display_name": "sigjax test venv", "language": "python",
      "env": {"PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}}))
  monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
  return KERNEL


def prepared_notebook(params: dict):
  """The notebook without its install cell and with parameters set."""
  nb = nbformat.read(NOTEBOOK, as_version=4)
  tags = [c.metadata.get("tags", []) for c in nb.cells]
  assert sum("install" in t for t in tags) == 1
  assert sum("parameters" in t for t in tags) == 1
  assert "install" in tags[[i for i, c in enumerate(nb.cells)
                            if c.cell_type == "code"][0]]
  nb.cells = [c for c in nb.cells if "install" not in c.metadata.get("tags",
                                                                     [])]
  cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags",
                                                                    []))
  for name, value in params.items():
    cell.source, n = re.subn(rf"^{name} = .*$", f"{name} = {value!r}",
                             cell.source, flags=re.M)
    assert n == 1, f"parameters cell has no line '{name} = ...'"
  return nb


@pytest.mark.parametrize("source", ["dir", "tar.gz"])
def test_notebook_samples_a_checkpoint(tiny_run, venv_kernel, tmp_path,
                                       source):
  workdir, config = tiny_run
  out = tmp_path / "out"
  params = {"RUN_DIR": str(workdir), "OUT_DIR": str(out)}
  if source == "tar.gz":
    archive = tmp_path / "run.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
      t.add(workdir / "checkpoints", arcname="tiny_run/checkpoints")
    params.update(RUN_DIR="does/not/exist", ARCHIVE=str(archive))
  nb = prepared_notebook(params)
  client = NotebookClient(nb, kernel_name=venv_kernel, timeout=600,
                          resources={"metadata": {"path": str(tmp_path)}})
  client.execute()  # raises CellExecutionError naming the failing cell
  for cell in nb.cells:
    if cell.cell_type == "code":
      assert not [o for o in cell.outputs if o.output_type == "error"]
  n = config.data.num_classes
  pngs = sorted(p.name for p in out.glob("*.png"))
  assert "samples_per_class.png" in pngs and "interpolation.png" in pngs
  assert len([p for p in pngs if p.startswith("class_")]) == n
  assert all((out / p).stat().st_size > 100 for p in pngs)
  images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "display_data" and "image/png" in o.data]
  assert len(images) == 2  # the per-class grid and the interpolation
  if source == "tar.gz":
    assert (tmp_path / "unpacked_run" / "tiny_run" / "checkpoints").is_dir()
