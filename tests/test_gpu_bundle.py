"""tools.gpu_bundle and its run.sh: built here, run here on the CPU in quick mode, with no network.

run.sh is meant for a GPU machine with Python 3.12; here it runs with
CNN_BUNDLE_PYTHON=current (this environment's packages; the bundled 3.12 wheels
are still installed with --no-index, for 3.12, into a folder nothing imports).
`make setup` downloads the wheels once into .whl/; without them the bundle
cannot be built offline, and these tests are skipped, saying why.
"""
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import jupytext
import nbformat
import pytest

from tools import gpu_bundle

REPO = Path(__file__).resolve().parents[1]

have_wheels = all(gpu_bundle.cached_wheel(r) for r in gpu_bundle.wanted_wheels())
needs_inputs = pytest.mark.skipif(
    not (have_wheels and all((gpu_bundle.DATA_DIR / f).is_file() for f in gpu_bundle.DATA_FILES)),
    reason="needs the wheels in .whl/ (`make setup` downloads them once) and Debian's Fashion-MNIST")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return gpu_bundle.build(tmp_path_factory.mktemp("bundle") / "gpu-bundle")


@needs_inputs
def test_bundle_holds_repository_data_and_wheels_within_64_mb(bundle):
    assert gpu_bundle.folder_bytes(bundle) <= 64 * 10**6
    with tarfile.open(bundle / "repo.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"Makefile", "tools/execute.py", "tools/test_gpu.py"} <= names
    chapters = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "chapters").glob("*.ipynb"))
    assert chapters and all(c in names and c.replace(".ipynb", ".md") in names for c in chapters)  # run.sh copies both
    assert sorted(p.name for p in (bundle / "data").iterdir()) == sorted(gpu_bundle.DATA_FILES)
    assert len(list((bundle / "wheels").glob("*.whl"))) == len(gpu_bundle.wanted_wheels())
    assert os.access(bundle / "run.sh", os.X_OK)


# A chapter in miniature: the bundle's utils, its Fashion-MNIST, one quick training run and its results.
# Every real chapter is already executed by nbval in the same `make test`; what this test checks is the
# bundle (offline install, data, the outputs and results that come back), so a notebook of seconds does.
PROBE_CELLS = [
    "import torch\nfrom torch import nn\n\nfrom utils import evaluate_accuracy, load_data, save_results, train",
    "train_iter, test_iter = load_data(64)\nnet = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"
    "history = train(net, train_iter, test_iter, 1, 0.1, plot=False)",
    "save_results('probe', history, net, test_acc=evaluate_accuracy(net, test_iter))\nprint('probe done')",
]


def probe_notebook(folder: Path) -> Path:
    """00_probe.ipynb in `folder`, paired like a chapter with a .md twin that is out of date (a stale
    line): after the run, the twin that comes back must be re-synced from the executed notebook."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in PROBE_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["jupytext"] = {"formats": "ipynb,md:myst"}
    jupytext.write(notebook, folder / "00_probe.md", fmt="md:myst")
    (folder / "00_probe.md").write_text((folder / "00_probe.md").read_text() + "\n# a stale line\n")
    nbformat.write(notebook, folder / "00_probe.ipynb")
    return folder / "00_probe.ipynb"


@pytest.mark.slow
@needs_inputs
def test_run_sh_quick_mode_on_the_cpu_without_network(bundle, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "CNN_BUNDLE_QUICK": "1", "CNN_BUNDLE_PYTHON": "current", "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "1",
           # No network: any attempt to reach a package index or a download fails at once.
           "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "https_proxy": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "CNN_COURSE_DATA": str(tmp_path / "no-data-here")}
    env.pop("PYTHONPATH", None)  # the bundle's own copy of the repository must be what runs
    env.pop("CNN_COURSE_RESULTS", None)
    result = subprocess.run([str(bundle / "run.sh"), str(out), str(probe_notebook(tmp_path))], env=env,
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"installed {len(gpu_bundle.wanted_wheels())} wheels" in result.stdout
    assert "no CUDA GPU" in result.stdout
    table = result.stdout.rstrip().splitlines()[-3:]  # the table comes last
    assert [line.split()[0] for line in table] == ["chapter", "00_probe", "all"]
    assert table[1].split()[-2].endswith("s")  # its wall time
    executed = nbformat.read(out / "chapters" / "00_probe.ipynb", as_version=4)
    assert "probe done" in executed.cells[-1].outputs[0]["text"]  # run with the bundle's data and utils
    twin = (out / "chapters" / "00_probe.md").read_text()
    assert "a stale line" not in twin and "save_results('probe'" in twin  # synced with jupytext after the run
    assert "== exit status 0" in (out / "log.txt").read_text()
    # The results files come back with the notebooks: this run's quick results and the book's.
    assert (out / "book_results" / "probe.json").is_file() and (out / "book_results" / "lenet.json").is_file()


def test_run_sh_without_outdir_is_an_error():
    result = subprocess.run(["bash", str(REPO / "tools" / "gpu_bundle_run.sh")], capture_output=True, text=True)
    assert result.returncode == 2 and "OUTDIR" in result.stdout


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(gpu_bundle.BundleError, match="apt-get install dataset-fashion-mnist"):
        gpu_bundle.build(tmp_path / "bundle", data_dir=tmp_path)
