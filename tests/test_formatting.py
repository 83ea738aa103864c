"""Chapter code is formatted (ruff, through jupytext) so that it fits the book's page width."""
from tools.format_chapters import CHAPTERS, LINE_LENGTH, main, unformatted


def test_every_chapter_is_formatted():
    failing = unformatted(CHAPTERS)
    assert not failing, f"not formatted: {[p.name for p in failing]}: run `make format`, then `make sync`"


def test_the_check_catches_a_line_too_long(tmp_path):
    chapter = tmp_path / "99_example.md"
    long_call = "print(" + ", ".join(f"value_{i}" for i in range(LINE_LENGTH // 8)) + ")"
    assert len(long_call) > LINE_LENGTH
    chapter.write_text("---\njupytext:\n  formats: md:myst\n  text_representation:\n    extension: .md\n"
                       "    format_name: myst\nkernelspec:\n  display_name: Python 3\n  language: python\n"
                       "  name: python3\n---\n\n# Example\n\n```{code-cell} ipython3\n" + long_call + "\n```\n")
    assert unformatted([chapter]) == [chapter]
    assert main(["--check", str(chapter)]) == 1
    assert main([str(chapter)]) == 0
    assert unformatted([chapter]) == []
    assert all(len(line) <= LINE_LENGTH for line in chapter.read_text().splitlines())
