"""Quick-mode switch and the command line: only the documented values, and --help does nothing else."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from utils import is_quick


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
