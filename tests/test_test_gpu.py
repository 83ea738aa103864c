"""tools.test_gpu: a no-op with a clear message on CPUs; on a GPU one nbval process per notebook."""
import nbformat
import torch

from tools import test_gpu


def tiny_notebook(path, source):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return str(path)


def test_without_a_gpu_it_runs_nothing_and_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    broken = tiny_notebook(tmp_path / "broken.ipynb", "raise RuntimeError('must not run')")
    assert test_gpu.main([broken]) == 0
    assert "no CUDA GPU" in capsys.readouterr().out


def test_with_a_gpu_each_notebook_runs_under_nbval(tmp_path, monkeypatch, capsys):
    # Pretend there is a GPU: the notebooks themselves need none.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "a pretend GPU")
    good = tiny_notebook(tmp_path / "good.ipynb", "import os\nassert os.environ['CNN_COURSE_QUICK'] == '1'")
    broken = tiny_notebook(tmp_path / "broken.ipynb", "raise RuntimeError('input on cuda, weights on cpu')")
    assert test_gpu.main([good, broken]) == 1
    out = capsys.readouterr().out
    assert "good.ipynb              passed" in out and "broken.ipynb            FAILED" in out
    assert "input on cuda, weights on cpu" in out and "1 of 2 notebooks passed" in out
