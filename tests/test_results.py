"""Results files: saved with their settings, and never overwritten by quick-mode runs."""
import json

from utils import History, load_results, results_dir, save_results


def history():
    return History([0.5], [0.8], [0.79], [1000.0], [2.0], device="cpu (2 threads)")


def test_quick_mode_results_go_to_a_temporary_folder(monkeypatch):
    real = results_dir()
    monkeypatch.setenv("CNN_COURSE_QUICK", "1")
    assert results_dir() != real
    assert "quick" in results_dir().name


def test_saved_results_round_trip_with_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_RESULTS", str(tmp_path))
    path = save_results("lenet", history(), resize=28, batch_size=128)
    record = json.loads(path.read_text())
    assert record["settings"] == {"resize": 28, "batch_size": 128}
    assert record["history"]["device"] == "cpu (2 threads)" and record["quick_mode"] is False
    assert load_results()["lenet"]["history"]["test_acc"] == [0.79]
