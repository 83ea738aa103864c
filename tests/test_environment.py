"""The environment is the lock: requirements.lock pins everything the ranges ask for, and the
packages whose output tests compare byte for byte are installed at the locked versions."""
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Tools whose exact output a test compares: matplotlib (the SVG diagrams), ruff (the chapters' format),
# jupytext and nbformat (the .md twins and the student notebooks), torch (stored shapes and counts).
BYTE_FOR_BYTE = ["matplotlib", "ruff", "jupytext", "nbformat", "torch", "torchvision"]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """{package: version} of a lock written by uv (a package can appear once per marker)."""
    found = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;]+)", line)
        if match:
            found.setdefault(normalized(match[1]), match[2])
    return found


def requirement_names(lines: list[str]) -> list[str]:
    names = [re.match(r"^\s*([A-Za-z0-9_.-]+)", line.split("#")[0]) for line in lines]
    return [normalized(m[1]) for m in names if m]


def test_the_lock_pins_every_requirement():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = requirement_names(project) + requirement_names((REPO / "requirements.txt").read_text().splitlines())
    missing = sorted(set(wanted) - set(pins(REPO / "requirements.lock")))
    assert not missing, f"requirements.lock lacks {missing}: run `make lock` after changing the requirements"


def test_the_book_lock_agrees_with_the_main_lock():
    main, book = pins(REPO / "requirements.lock"), pins(REPO / "requirements-book.lock")
    differing = {name: (v, main.get(name)) for name, v in book.items() if main.get(name) != v}
    assert not differing, f"requirements-book.lock differs from requirements.lock: {differing}; run `make lock`"


@pytest.mark.parametrize("package", BYTE_FOR_BYTE)
def test_byte_for_byte_tools_are_at_the_locked_version(package):
    try:
        installed = version(package)
    except PackageNotFoundError:
        pytest.fail(f"{package} is not installed: run `make setup`")
    assert installed == pins(REPO / "requirements.lock")[package], (
        f"{package} {installed} is installed, the lock says {pins(REPO / 'requirements.lock')[package]}: "
        "run `make setup` (tests compare this tool's output byte for byte)")


def test_importing_utils_leaves_torchvision_unloaded():
    """torchvision takes seconds to import; kernels, torchrun workers and the grader that never read an
    image folder must not pay for it (utils/folders.py imports it where it is used)."""
    probe = "import sys, utils; from utils import load_folder, predict; print(sorted(m for m in sys.modules if m.startswith('torchvision')))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", f"importing utils loaded {result.stdout.strip()[:300]}"
