"""Quick-mode switch and the command line: only the documented values, and --help does nothing else."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from utils import is_quick, set_seed
from utils.runtime import pick_device


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("yes", True), ("on", True), ("true", True), ("TRUE", True),
    ("0", False), ("no", False), ("off", False), ("false", False), ("False", False), ("", False),
])
def test_quick_mode_values(monkeypatch, value, expected):
    monkeypatch.setenv("CNN_COURSE_QUICK", value)
    assert is_quick() is expected


def test_an_unknown_quick_mode_value_lists_the_allowed_ones(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_QUICK", "fast")
    with pytest.raises(ValueError, match="CNN_COURSE_QUICK='fast' is not understood.*1, yes, on, true.*0, no, off, false"):
        is_quick()


def test_help_prints_usage_and_touches_no_data(tmp_path):
    env = {**os.environ, "CNN_COURSE_DATA": str(tmp_path / "data"), "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "utils", "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m utils")
    assert "ready in" not in done.stdout and not (tmp_path / "data").exists()


def test_the_command_prepares_the_data_offline(tmp_path, monkeypatch, capsys):
    import utils.__main__ as command
    import utils.fashion_mnist as fashion_mnist

    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "none")
    assert command.main(["--root", str(tmp_path), "--no-download"]) == 1
    assert "downloading was not allowed" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["0", None, 2**40, -1, 0.5, True])
def test_a_seed_that_is_not_an_int_in_range_is_refused(seed):
    with pytest.raises(ValueError, match=r"seed must be an int from 0 to 2\*\*32 - 1, e.g. set_seed\(0\)"):
        set_seed(seed)


def test_seeds_at_both_ends_of_the_range_repeat_a_draw():
    for seed in (0, 2**32 - 1):
        set_seed(seed)
        first = torch.rand(3)
        set_seed(seed)
        assert torch.equal(first, torch.rand(3))


@pytest.mark.parametrize("device, gpus, message", [
    ("gpu", 1, "is not a device"),
    ("cuda", 0, "no CUDA GPU"),
    ("cuda:1", 1, "has 1 GPU"),
    ("mps", 0, "CPUs and CUDA GPUs"),
])
def test_one_device_parser_lists_the_valid_forms(monkeypatch, device, gpus, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    with pytest.raises(ValueError, match=message):
        pick_device(device)
    assert pick_device("cpu") == pick_device(torch.device("cpu")) == torch.device("cpu")
    if gpus:
        assert pick_device("cuda") == torch.device("cuda") and pick_device("cuda:0") == torch.device("cuda:0")
