"""`python -m tools.gpu_bundle [FOLDER]`: everything an offline GPU machine needs, in one folder.

Cluster GPU nodes often cannot reach a package index. The folder (default
_build/gpu-bundle, at most 64 MB) holds:

* repo.tar.gz: the repository's tracked files as they are in the working tree;
* data/: the four Fashion-MNIST .gz files;
* wheels/: the Python 3.12 manylinux wheels listed in tools/wheels-py312.txt
  (downloaded once into .whl/, which git ignores; this step needs the network);
* run.sh: `run.sh OUTDIR` installs the wheels with `pip --no-index` into a
  temporary folder, runs the GPU quick check, then the full execution, and
  writes the executed notebooks, results files and a log into OUTDIR.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHEEL_LIST = REPO / "tools" / "wheels-py312.txt"
WHEEL_CACHE = REPO / ".whl"
DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
MAX_BYTES = 64 * 10**6
# The GPU image's Python; manylinux tags from newest to oldest, as pip would accept them there.
PIP_TARGET = ["--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:",
              *(arg for tag in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                                "manylinux2014_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64")
                for arg in ("--platform", tag))]


class BundleError(RuntimeError):
    """A missing input or an oversized bundle; the message says what to do."""


def wanted_wheels() -> list[str]:
    """`name==version` lines of the wheel list, comments dropped."""
    lines = (line.split("#")[0].strip() for line in WHEEL_LIST.read_text().splitlines())
    return [line for line in lines if line]


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def cached_wheel(requirement: str) -> Path | None:
    """The wheel in .whl/ for `name==version`, if it was downloaded."""
    name, version = requirement.split("==")
    matches = [w for w in WHEEL_CACHE.glob("*.whl")
               if _normalized(w.name.split("-")[0]) == _normalized(name) and w.name.split("-")[1] == version]
    return matches[0] if matches else None


def wheel_files() -> list[Path]:
    """One cached wheel per listed requirement, downloading the missing ones first."""
    missing = [r for r in wanted_wheels() if cached_wheel(r) is None]
    if missing:
        print(f"Downloading {len(missing)} wheels into {WHEEL_CACHE} ...", flush=True)
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
                                 "--no-deps", *PIP_TARGET, "-d", str(WHEEL_CACHE), *missing])
        still_missing = [r for r in missing if cached_wheel(r) is None]
        if result.returncode or still_missing:
            raise BundleError(f"Could not download {', '.join(still_missing) or 'the wheels'} (needs a network "
                              f"once; the wheels are kept in {WHEEL_CACHE}).")
    return [cached_wheel(r) for r in wanted_wheels()]


def tracked_files() -> list[str]:
    """The files git tracks, as they are in the working tree (deleted ones skipped)."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in listing.decode().split("\0") if name and (REPO / name).is_file()]


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def build(folder: Path, data_dir: Path = DATA_DIR) -> Path:
    """Write the bundle into `folder` (replacing it); return the folder."""
    missing_data = [name for name in DATA_FILES if not (data_dir / name).is_file()]
    if missing_data:
        raise BundleError(f"{', '.join(missing_data)} not in {data_dir}: on Debian or Ubuntu, "
                          "`sudo apt-get install dataset-fashion-mnist` puts them there.")
    wheels = wheel_files()
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    (folder / "wheels").mkdir()
    with tarfile.open(folder / "repo.tar.gz", "w:gz") as archive:
        for name in tracked_files():
            archive.add(REPO / name, arcname=name)
    for name in DATA_FILES:
        shutil.copy2(data_dir / name, folder / "data" / name)
    for wheel in wheels:
        shutil.copy2(wheel, folder / "wheels" / wheel.name)
    shutil.copy2(REPO / "tools" / "gpu_bundle_run.sh", folder / "run.sh")
    (folder / "run.sh").chmod(0o755)
    size = folder_bytes(folder)
    if size > MAX_BYTES:
        raise BundleError(f"The bundle is {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit: "
                          "look for large tracked files (`git ls-files -s | sort -k4`).")
    print(f"{folder}: {size / 1e6:.1f} MB ({len(wheels)} wheels). On the GPU machine: {folder.name}/run.sh OUTDIR")
    return folder


def main(argv: list[str]) -> int:
    """`python -m tools.gpu_bundle [FOLDER]`, or `--download-only` to fill .whl/ (what `make setup` does)."""
    try:
        if argv[:1] == ["--download-only"]:
            print(f"{len(wheel_files())} wheels for the GPU bundle in {WHEEL_CACHE}")
            return 0
        build(Path(argv[0]) if argv else REPO / "_build" / "gpu-bundle")
    except BundleError as error:
        print(f"gpu-bundle: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
