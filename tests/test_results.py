"""Results files: saved with costs and settings, the book's runs shipped, quick runs kept apart."""
import json
import subprocess
from pathlib import Path

import pytest

from torch import nn

import utils
import utils.results as results
from utils import History, load_results, results_dir, save_results

REPO = Path(__file__).resolve().parents[1]


def history():
    return History([0.5], [0.8], [0.79], [1000.0], [2.0], device="cpu (2 threads)", image_shape=[1, 8, 8])


def test_quick_mode_results_go_to_a_temporary_folder(monkeypatch):
    real = results_dir()
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    assert results_dir() != real
    assert "quick" in results_dir().name


def test_saved_results_hold_costs_test_accuracy_settings_and_history(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path))
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    path = save_results("lenet", history(), net, test_acc=0.78, resize=28, batch_size=128)
    record = json.loads(path.read_text())
    assert record["settings"] == {"resize": 28, "batch_size": 128} and record["test_acc"] == 0.78
    assert record["costs"] == {"parameters": 650, "macs_per_example": 640, "activation_bytes_per_example": (64 + 10) * 4}
    assert record["device"] == "cpu (2 threads)" and record["quick_mode"] is False
    assert record["history"]["val_acc"] == [0.79] and record["history"]["best_epoch"] == 1
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True)
    assert record["course_version"] == utils.__version__ and record["commit"].split("+")[0] == head.stdout.strip()
    mine = load_results()["lenet (yours)"]  # the book has a run called lenet too
    assert mine["source"] == "yours" and mine["test_acc"] == 0.78


def test_outside_the_courses_checkout_no_commit_is_claimed(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "BOOK_RESULTS", tmp_path / "site-packages" / "utils" / "book_results")
    (tmp_path / "site-packages" / "utils").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # say, a virtual environment inside a project
    subprocess.run(["git", "-c", "user.email=a@b.invalid", "-c", "user.name=A", "commit", "-q", "--allow-empty",
                    "-m", "other project"], cwd=tmp_path, check=True)
    assert results.code_commit() is None  # an installed package inside another project's checkout


def test_the_book_results_ship_with_the_package_and_are_marked(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path / "mine"))
    runs = load_results()
    stored = {p.stem for p in results.BOOK_RESULTS.glob("*.json")} - {"executions"}
    assert stored and set(runs) == stored and all(r["source"] == "book" for r in runs.values())
    save_results(sorted(stored)[0], history(), nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), test_acc=0.5)
    save_results("my_net", history(), nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), test_acc=0.5)
    runs = load_results()
    assert runs[sorted(stored)[0]]["source"] == "book" and runs[f"{sorted(stored)[0]} (yours)"]["source"] == "yours"
    assert runs["my_net"]["source"] == "yours" and "executions" not in runs


def test_a_results_file_from_an_older_version_is_skipped_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path))
    (tmp_path / "old_net.json").write_text(json.dumps({"name": "old_net", "history": {}, "settings": {}}))
    with pytest.warns(UserWarning, match=r"old_net.json .*older version .*no costs, test_acc.*Run its chapter again"):
        runs = load_results()
    assert "old_net" not in runs


def test_a_students_runs_never_write_into_the_books_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (results.BOOK_RESULTS.parents[1] / "_toc.yml").exists()  # run inside a clone of the course
    book_lenet = (results.BOOK_RESULTS / "lenet.json").read_bytes()
    assert results_dir() == tmp_path / "cnn-course-results"
    path = save_results("lenet", history(), nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), test_acc=0.5)
    assert path == tmp_path / "cnn-course-results" / "lenet.json"
    assert (results.BOOK_RESULTS / "lenet.json").read_bytes() == book_lenet
    assert load_results()["lenet (yours)"]["test_acc"] == 0.5


def test_a_damaged_results_file_is_skipped_with_a_warning_and_the_others_still_load(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path))
    save_results("my_net", history(), nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), test_acc=0.5)
    (tmp_path / "cut_short.json").write_text('{"name": "cut_sh')
    with pytest.warns(UserWarning, match=r"Skipped .*cut_short.json: it is not a valid results file.*Delete it, or run"):
        runs = load_results()
    assert "my_net" in runs and "cut_short" not in runs and "lenet" in runs


def test_saved_weights_load_into_a_fresh_network_and_a_misfit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path))
    trained = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    save_results("tiny", history(), trained, test_acc=0.78, hidden=0)
    fresh = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    record = utils.load_weights("tiny", fresh)
    assert record["test_acc"] == 0.78
    assert all((a == b).all() for a, b in zip(trained.state_dict().values(), fresh.state_dict().values()))
    with pytest.raises(ValueError, match="build it with the settings that run used"):
        utils.load_weights("tiny", nn.Sequential(nn.Flatten(), nn.Linear(64, 12)))
    with pytest.raises(FileNotFoundError, match="Run the chapter that trains it"):
        utils.load_weights("never-run", fresh)
