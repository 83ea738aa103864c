"""Chapter 7 repeats the five networks of chapters 1-5: the copies must build the same layers."""
from pathlib import Path

import pytest

from tools.chapter_code import code_cells, definitions

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
SEE = CHAPTERS / "07_what_networks_see.md"
VGG_A = dict(in_channels=1, num_classes=10, image_side=32, width=0.25, hidden=512)
# chapter, builder name, how to call it (the same arguments on both sides)
CASES = {
    "lenet": ("01_lenet.md", "lenet", lambda ns: ns["lenet"]()),
    "lenet, 32x32": ("01_lenet.md", "lenet", lambda ns: ns["lenet"](image_side=32, padding=0)),
    "alexnet": ("02_alexnet.md", "alexnet", lambda ns: ns["alexnet"]()),
    "alexnet, narrow": ("02_alexnet.md", "alexnet", lambda ns: ns["alexnet"](widths=(16, 48, 96, 64, 64))),
    "vgg-11": ("03_vgg.md", "vgg", lambda ns: ns["vgg"](ns["CONFIGS"]["A"], **VGG_A)),
    "googlenet": ("04_googlenet.md", "GoogLeNet", lambda ns: ns["GoogLeNet"](num_classes=10, in_channels=1)),
    "resnet-18": ("05_resnet.md", "resnet", lambda ns: ns["resnet"]("resnet18", in_channels=1, num_classes=10)),
}


def shapes(net) -> dict:
    return {key: tuple(value.shape) for key, value in net.state_dict().items()}


@pytest.fixture(scope="module")
def see():
    return definitions(SEE, {name for _, name, _ in CASES.values()})


@pytest.mark.parametrize("case", CASES)
def test_chapter_7s_copy_builds_the_chapters_network(see, case):
    chapter, name, make = CASES[case]
    theirs = shapes(make(definitions(CHAPTERS / chapter, {name})))
    ours = shapes(make(see))
    assert ours == theirs, (f"chapters/07's {name} differs from chapters/{chapter}'s: "
                            f"{sorted(set(ours.items()) ^ set(theirs.items()))[:6]}. Copy the chapter's code "
                            "into chapter 7's network cell.")


def test_code_cells_are_read_without_their_options():
    cells = code_cells(SEE)
    assert any(cell.startswith("# The same networks as chapters 1-5") for cell in cells)
    assert not any(cell.startswith(":tags:") for cell in cells)


def test_a_missing_definition_is_named(tmp_path):
    chapter = tmp_path / "99_none.md"
    chapter.write_text("# none\n\n```{code-cell} ipython3\nX = 1\n```\n")
    with pytest.raises(KeyError, match="99_none.md defines no lenet"):
        definitions(chapter, {"lenet"})
