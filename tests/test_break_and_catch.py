"""The break-and-catch table of tools/break_and_catch.py stays applicable to the code it breaks."""
import pytest

from tools.break_and_catch import MUTATIONS, REPO


@pytest.mark.parametrize("name, file, old, new, test", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_mutation_applies_to_exactly_one_place_and_names_an_existing_test(name, file, old, new, test):
    assert (REPO / file).read_text().count(old) == 1, f"{name}: the snippet no longer occurs once in {file}"
    test_file, _, test_name = test.partition("::")
    assert (REPO / test_file).exists()
    assert not test_name or f"def {test_name}(" in (REPO / test_file).read_text(), f"{name}: no test {test_name}"
