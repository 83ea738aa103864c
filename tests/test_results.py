"""Results files: saved with costs and settings, the book's runs shipped, quick runs kept apart."""
import json
import subprocess
from pathlib import Path

import pytest

import torch
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


def test_the_weights_are_saved_beside_the_record_and_load_into_a_fresh_network(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path))
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    save_results("tiny", history(), net, test_acc=0.5)
    assert results.stored_weights("tiny") == tmp_path / "tiny.pt" and not list(tmp_path.glob("*.partial"))
    fresh = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    assert utils.load_weights("tiny", fresh) == tmp_path / "tiny.pt"
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), fresh.state_dict().values()))


def test_the_books_weights_are_used_when_you_have_none(tmp_path, monkeypatch):
    book = tmp_path / "book"
    book.mkdir()
    monkeypatch.setattr(results, "BOOK_RESULTS", book)
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path / "mine"))
    torch.save(nn.Linear(3, 2).state_dict(), book / "lenet.pt")
    assert results.stored_weights("lenet") == book / "lenet.pt"
    utils.load_weights("lenet", nn.Linear(3, 2))
    save_results("lenet", history(), nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), test_acc=0.5)  # now yours comes first
    assert results.stored_weights("lenet") == tmp_path / "mine" / "lenet.pt"


def test_missing_or_misfitting_weights_say_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "BOOK_RESULTS", tmp_path / "book")
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path / "mine"))
    with pytest.raises(FileNotFoundError, match=r"'lenet'.*Run the chapter that trains it first.*quick version"):
        utils.load_weights("lenet", nn.Linear(3, 2))
    save_results("lenet", history(), nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), test_acc=0.5)
    with pytest.raises(ValueError, match=r"do not fit this network.*settings stored in lenet.json"):
        utils.load_weights("lenet", nn.Sequential(nn.Flatten(), nn.Linear(64, 5)))  # other shapes
    with pytest.raises(ValueError, match=r"do not fit this network"):
        utils.load_weights("lenet", nn.Sequential(nn.Linear(64, 4)))  # other names
