"""Versions: one number in one place, every notebook installs it on Colab, and `tools.release` cuts
a release from a clean tree to a tag."""
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest

import utils
from tools.build_site import release_tags, versions_page
from tools.colab_pin import git_ref, install_target
from tools.release import ReleaseError, release_changelog

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "chapters").glob("*.ipynb")) + sorted((REPO / "book" / "colab").glob("*.ipynb"))


def test_the_version_is_the_package_metadata():
    assert utils.__version__ == version("cnn-course-utils"), "run `make setup` to reinstall the package"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_notebook_installs_the_books_version_on_colab(notebook):
    first_code = next(c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
    assert f'"{install_target()}"' in first_code.source, (
        f"{notebook.name} does not install {install_target()}: run `make colab-url` (then `make sync`)")


def test_a_release_installs_its_tag_and_a_development_version_main():
    assert git_ref("0.3.0") == "v0.3.0" and git_ref("0.3.0.dev0") == "main"


def test_the_changelog_moves_unreleased_entries_under_the_release():
    text = "# Changelog\n\n## Unreleased\n\n- a fix\n\n## 0.1.0 (not tagged)\n\nfirst\n"
    released = release_changelog(text, "0.2.0", "2026-12-02")
    assert released.index("## Unreleased") < released.index("## 0.2.0 (2026-12-02)") < released.index("- a fix")
    with pytest.raises(ReleaseError, match="says nothing"):
        release_changelog("## Unreleased\n\n## 0.1.0\n", "0.2.0", "2026-12-02")


def scratch_clone(tmp_path: Path) -> Path:
    """A clone of this checkout's committed state, with its working tree's tools and changelog."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    for name in ("git config user.email ci@example.invalid", "git config user.name CI"):
        subprocess.run(name.split(), cwd=clone, check=True)
    return clone


def run_release(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.release", *args], cwd=clone, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(clone.parent)})


@pytest.mark.slow
def test_release_refuses_a_dirty_tree_and_an_old_version_then_tags(tmp_path):
    clone = scratch_clone(tmp_path)
    current = utils.__version__
    (clone / "README.md").write_text("changed\n")
    dirty = run_release(clone, "9.0.0", "--skip-tests")
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr
    subprocess.run(["git", "checkout", "README.md"], cwd=clone, check=True)
    old = run_release(clone, "0.0.1", "--skip-tests")
    assert old.returncode == 2 and "not newer" in old.stderr
    assert not subprocess.run(["git", "tag"], cwd=clone, capture_output=True, text=True).stdout.strip()

    done = run_release(clone, "9.0.0", "--skip-tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert subprocess.run(["git", "tag"], cwd=clone, capture_output=True, text=True).stdout.split() == ["v9.0.0"]
    assert not subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert '__version__ = "9.0.0"' in (clone / "utils" / "__init__.py").read_text() and current != "9.0.0"
    for folder in ("chapters", "book/colab"):
        for notebook in sorted((clone / folder).glob("*.ipynb")):
            first_code = next(c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
            assert 'classic-cnns-pytorch@v9.0.0"' in first_code.source, notebook
    assert "## 9.0.0 (" in (clone / "CHANGELOG.md").read_text()


def test_the_site_lists_the_latest_pages_and_every_release_newest_first(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for command in ("git init -q", "git config user.email ci@example.invalid", "git config user.name CI",
                    "git commit -q --allow-empty -m start", "git tag v0.2.0", "git tag v0.10.0", "git tag v0.9.1",
                    "git tag v1.0.0rc1", "git tag not-a-release"):
        subprocess.run(command.split(), cwd=repo, check=True)
    releases = release_tags(repo)
    assert releases == ["v0.10.0", "v0.9.1", "v0.2.0"]  # numeric order, release tags only
    page = versions_page("0.11.0.dev0", releases)
    links = re.findall(r'href="([^"]+)"', page)
    assert links == ["./", "v0.10.0/", "v0.9.1/", "v0.2.0/"] and "0.11.0.dev0" in page
