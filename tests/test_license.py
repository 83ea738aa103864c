"""The licenses: CC BY 4.0 for the text, MIT for the code, named in the README and pyproject.toml.

Both texts come verbatim from the npm package spdx-license-list (licenses/MIT.json and
licenses/CC-BY-4.0.json, version 6.12.0), the copyright line of MIT's filled in."""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_code_license_is_the_mit_text_with_its_holder_filled_in():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 The Classic CNNs course team\n"), text[:120]
    assert "<year>" not in text and "<copyright holders>" not in text
    assert "Permission is hereby granted, free of charge" in text and text.rstrip().endswith("DEALINGS IN THE SOFTWARE.")


def test_the_text_license_is_cc_by_4_0_in_full():
    text = (REPO / "LICENSE-TEXT").read_text()
    assert "Creative Commons Attribution 4.0 International Public License" in text
    sections = re.findall(r"^Section (\d) – ", text, re.MULTILINE)
    assert sections == ["1", "2", "3", "4", "5", "6", "7", "8"], sections  # the whole license, not an excerpt
    assert text.rstrip().endswith("Creative Commons may be contacted at creativecommons.org.")


def test_the_readme_says_what_instructors_may_do_and_names_both_files():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## What instructors may do with this material\n", 1)[1].split("\n## ", 1)[0]
    for needed in ("`LICENSE`", "`LICENSE-TEXT`", "CC BY 4.0", "MIT", "credit"):
        assert needed in section, f"the README's licensing section does not mention {needed}"


def test_the_package_declares_the_code_license():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
