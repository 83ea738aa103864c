"""The built book, as a reader sees it: headless Chromium against both editions served on localhost.

Run after `make book book-instructor` (`make test` builds both first, then runs this in its
pytest session); marked `browser`, so plain `pytest tests` skips it. Screenshots land in _build/screenshots/ (the first architecture
diagram of every chapter page in the light and dark theme among them).
"""
from __future__ import annotations

import contextlib
import functools
import html
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
EDITIONS = {"student": REPO / "_build" / "html", "instructor": REPO / "_build" / "instructor" / "html"}
SCREENSHOTS = REPO / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
CHAPTERS = [entry["file"] for part in TOC["parts"] for entry in part["chapters"] if entry["file"].startswith("chapters/")]
DIAGRAMS = {path.name for path in (REPO / "book" / "figures").glob("*.svg")}
REPOSITORY = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def solution_lines(chapter: str) -> list[str]:
    """One distinctive line from every solution code cell of a chapter."""
    notebook = nbformat.read(REPO / f"{chapter}.ipynb", as_version=4)
    lines = []
    for cell in notebook.cells:
        if "solution" in cell.metadata.get("tags", []):
            candidates = [line.strip() for line in cell.source.splitlines() if line.strip() and not line.startswith("#")]
            lines.append(max(candidates, key=len))
    return lines


@pytest.fixture(scope="module")
def servers():
    urls = {}
    running = []
    for edition, root in EDITIONS.items():
        if not (root / "index.html").exists():
            pytest.fail(f"{root}/index.html is missing: run `make book book-instructor` first")
        handler = functools.partial(QuietHandler, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        urls[edition] = f"http://127.0.0.1:{server.server_port}"
        running.append(server)
    yield urls
    for server in running:
        server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (CI's .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@contextlib.contextmanager
def page_at(browser, url: str, width: int = 1280):
    """The page at `url` in a fresh context (fresh profile, a window `width` pixels wide) that blocks
    every request leaving the machine; when the block ends without an error, none may have been attempted."""
    outside: list[str] = []
    context = browser.new_context(viewport={"width": width, "height": 900})

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        page = context.new_page()
        yield page, page.goto(url, wait_until="networkidle")
    finally:
        context.close()
    assert not outside, f"requests left the machine: {outside[:5]}"


# Sections shown in the screenshots of how a chapter trains: LeNet's loop written out, GoogLeNet's run.
TRAINING_SECTIONS = {"01_lenet": "the-training-loop-written-out", "04_googlenet": "training-googlenet-on-fashion-mnist"}

# Code cells wider than their box at the window's width (a scroll bar hides the rest of the line).
OVERFLOWING_CODE = """Array.from(document.querySelectorAll('.cell_input pre'))
    .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => ({width: pre.clientWidth, needed: pre.scrollWidth,
                  line: pre.innerText.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')}))"""

# Tables with columns a reader cannot see: past a box that clips (overflow hidden) or past the window.
# A table in a box that scrolls sideways is reachable, which is enough on a phone; on a desktop window
# (`scrolling_allowed` false) every column must show without scrolling.
CUT_OFF_TABLES = """scrolling_allowed => Array.from(document.querySelectorAll('article table')).map(table => {
    const right = table.getBoundingClientRect().right, window_right = document.documentElement.clientWidth;
    for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
        const overflow = getComputedStyle(box).overflowX, box_right = box.getBoundingClientRect().right;
        if (right <= box_right + 1) continue;
        if (overflow === 'auto' || overflow === 'scroll') {
            if (!scrolling_allowed) return 'hidden in a scroll box';
            return box_right > window_right + 1 ? 'its scroll box, itself past the window' : null;
        }
        if (overflow === 'hidden' || overflow === 'clip') return 'a box that clips it';
    }
    return right > window_right + 1 ? 'the window' : null;
}).map((where, i) => where && {table: i, cut_off_by: where}).filter(Boolean)"""


def screenshot_diagram(page, diagram, name: str) -> None:
    """The first diagram of the page in the light and in the dark theme (pydata's data-theme switch)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        page.evaluate(f"Object.assign(document.documentElement.dataset, {{theme: '{theme}', mode: '{theme}'}})")
        diagram.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -120)")  # some heading above the figure, for context
        page.screenshot(path=str(SCREENSHOTS / f"{name}-diagram-{theme}.png"))
    page.evaluate("Object.assign(document.documentElement.dataset, {theme: 'light', mode: 'light'})")


def read_page(page, url: str, edition: str, page_name: str) -> dict:
    """What the tests below look at on one loaded page, gathered in one visit (a chapter takes seconds to load)."""
    facts = {"figures_loaded": page.evaluate("Array.from(document.querySelectorAll('.cell_output img'))"
                                             ".map(img => img.complete && img.naturalWidth > 0)")}
    figures = page.locator(".cell_output img")
    if figures.count():
        figures.last.scroll_into_view_if_needed()
        facts["last_figure_visible"] = figures.last.is_visible()
    # Architecture diagrams: book/figures/*.svg, which Sphinx copies to _images/.
    facts["images"] = page.evaluate("Array.from(document.querySelectorAll('figure img'))"
                                    ".map(img => [img.src.split('/').pop(), img.complete && img.naturalWidth > 0])")
    facts["diagrams"] = {name: loaded for name, loaded in facts["images"] if name in DIAGRAMS}
    diagram = page.locator("figure img[src$='.svg']").first
    if facts["diagrams"]:
        diagram.scroll_into_view_if_needed()
        facts["diagram_shown"] = diagram.is_visible() and diagram.bounding_box()["width"] > 300
    facts["maths"] = page.locator(".math").count()
    if facts["maths"]:  # Sphinx loads MathJax only on pages that have equations
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("MathJax.startup.promise")
    facts["typeset"] = page.locator(".math mjx-container").count()
    colab = page.locator("a[href*='colab.research.google.com']")
    facts["colab"] = colab.first.get_attribute("href") if colab.count() else None
    facts["text"] = page.inner_text("body")
    facts["code_cells"] = page.locator(".cell_input pre").count()
    facts["overflowing_code"] = page.evaluate(OVERFLOWING_CODE)
    tables = page.locator(".cell_output table")
    facts["table_headers"] = [tables.nth(i).locator("th").all_inner_texts() for i in range(tables.count())]
    if page_name in CHAPTERS:  # screenshots for whoever reviews the book
        name = Path(page_name).name
        if facts["diagrams"]:
            screenshot_diagram(page, diagram, f"{edition}-{name}")
        if page_name == CHAPTERS[0]:
            page.goto(f"{url}#exercises", wait_until="networkidle")
            page.screenshot(path=str(SCREENSHOTS / f"{edition}-{name}.png"))
        if edition == "student" and name in TRAINING_SECTIONS:
            section = TRAINING_SECTIONS[name]
            page.goto(f"{url}#{section}", wait_until="networkidle")
            facts["training_section_found"] = page.locator(f"section#{section}").count() == 1
            page.screenshot(path=str(SCREENSHOTS / f"{edition}-{name}-training.png"))
    facts["cut_off_tables"] = {}
    for width in (1280, 390):  # a desktop window, then a phone
        page.set_viewport_size({"width": width, "height": 900})
        facts["cut_off_tables"][width] = page.evaluate(CUT_OFF_TABLES, width < 1000)
    return facts


@pytest.fixture(scope="module")
def visit(browser, servers):
    """visit(edition, page) -> the facts of that page: each page is loaded once for all the tests."""
    @functools.cache
    def load(edition: str, page_name: str) -> dict:
        url = f"{servers[edition]}/{page_name}.html"
        with page_at(browser, url) as (page, response):
            assert response is not None and response.ok, f"{url}: {response and response.status}"
            return read_page(page, url, edition, page_name)

    return load


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders_offline(visit, edition, chapter):
    page = visit(edition, chapter)
    # Figures from the stored run (the training curves among them) are loaded and on the page.
    loaded = page["figures_loaded"]
    assert loaded, "no output figure on the page"
    assert all(loaded), f"{loaded.count(False)} figure(s) failed to load"
    assert page["last_figure_visible"]
    # At least one architecture diagram has loaded, and it is shown at a readable size.
    diagrams = page["diagrams"]
    assert diagrams, f"no architecture diagram from book/figures/ on the page (images: {page['images']})"
    assert all(diagrams.values()), f"diagram(s) that failed to load: {[n for n, ok in diagrams.items() if not ok]}"
    assert page["diagram_shown"], "the diagram is hidden or shrunk"
    # Every equation is typeset by the book's own MathJax.
    missing = page["maths"] - page["typeset"]
    assert not missing, f"{missing} of {page['maths']} equations were not typeset"
    # The Colab button opens the right notebook: without solutions for students.
    notebook = f"book/colab/{Path(chapter).name}.ipynb" if edition == "student" else f"{chapter}.ipynb"
    github = REPOSITORY.replace("https://github.com/", "")
    assert page["colab"] == f"https://colab.research.google.com/github/{github}/blob/main/{notebook}"
    # Solutions: absent for students, present for instructors.
    for line in solution_lines(chapter):
        assert (line in page["text"]) == (edition == "instructor"), f"{edition} edition and solution line {line!r}"
    if edition == "student" and Path(chapter).name in TRAINING_SECTIONS:
        assert page["training_section_found"], f"no section #{TRAINING_SECTIONS[Path(chapter).name]} on the page"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_solution_text_anywhere_in_student_files(chapter):
    """Not only the page: the search index, downloadable sources and Colab notebooks too."""
    lines = solution_lines(chapter)
    assert lines, f"{chapter} has no solution cells"
    student_files = [p for p in EDITIONS["student"].rglob("*") if p.suffix in (".html", ".js", ".ipynb", ".txt")]
    student_files.append(REPO / "book" / "colab" / f"{Path(chapter).name}.ipynb")
    for path in student_files:
        if "_static" in path.parts:
            continue
        content = path.read_text(errors="ignore")
        for line in lines:
            # As written, as escaped in HTML, and as escaped in JSON (notebooks, search index).
            for form in {line, html.escape(line), html.escape(line, quote=False), json.dumps(line)[1:-1]}:
                assert form not in content, f"solution line {line!r} found in {path.relative_to(REPO)}"


def plain(text: str) -> str:
    """Text without Markdown marks, quotes (Sphinx curls them) or line breaks, to compare source and page."""
    return " ".join(re.sub(r"[`*'\"‘’“”]", "", text).split())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_rubrics_show_in_the_instructor_edition_only(chapter):
    """Each rubric (tools/rubrics.py) under its worked answer for instructors; nowhere in the student files."""
    from bs4 import BeautifulSoup

    from tools.rubrics import chapter_rubrics

    rubrics = chapter_rubrics(REPO / f"{chapter}.ipynb")
    assert rubrics, f"{chapter} has no exercise graded by hand"
    instructor = plain(BeautifulSoup((EDITIONS["instructor"] / f"{chapter}.html").read_text(), "html.parser").get_text())
    student = {p: plain(p.read_text(errors="ignore")) for p in EDITIONS["student"].rglob("*")
               if p.suffix in (".html", ".js", ".ipynb", ".txt") and "_static" not in p.parts}
    for rubric in rubrics:
        for level, text in rubric.levels.items():
            words = " ".join(plain(text).split()[:8])
            assert f"{level}: {words}" in instructor, f"instructor edition: {rubric.number} {level} missing"
            leaks = [str(p.relative_to(REPO)) for p, content in student.items() if words in content]
            assert not leaks, f"the rubric of {rubric.number} is in {leaks}"


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if not c.endswith("comparison")])  # it has no checks
def test_public_checks_show_their_verdict_only_where_the_answers_are(chapter):
    """The stored "checks pass" came from the solutions: the student pages show the check code alone."""
    from bs4 import BeautifulSoup

    outputs = {}
    for edition, root in EDITIONS.items():
        page = BeautifulSoup((root / f"{chapter}.html").read_text(), "html.parser")
        checks = page.select("div.cell.tag_check")
        assert checks, f"{edition} {chapter}: no public check cells on the page"
        outputs[edition] = sum(len(cell.select("div.cell_output")) for cell in checks)
    assert outputs["student"] == 0 and outputs["instructor"] > 0, outputs


@pytest.mark.parametrize("edition", EDITIONS)
def test_internal_links_resolve(edition):
    root = EDITIONS[edition]
    broken = []
    for page in root.rglob("*.html"):
        if "_static" in page.relative_to(root).parts:
            continue  # theme templates shipped as static files, not pages
        for target in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text(errors="ignore")):
            if re.match(r"^[a-z]+:", target) or target.startswith("//"):
                continue  # external links are allowed to exist; the browser test checks none is loaded
            if not (page.parent / target).resolve().exists():
                broken.append(f"{page.relative_to(root)} -> {target}")
    assert not broken, f"{len(broken)} broken internal links, e.g. {broken[:5]}"


# Text a reader must never see: nbval's markers and the Colab install code (what the book's source decides) ...
NOISE = {
    "an nbval marker": re.compile(r"NBVAL"),
    "the Colab install code": re.compile(r"google\.colab|cnn-course-utils @ git\+"),
}
# ... nor what outputs must never show: the build machine's folders, a PosixPath, torchinfo's enum names.
OUTPUT_NOISE = {
    "an absolute path of the build machine": re.compile(r"(?<![\w.])/(?:root|work|home|tmp)/"),
    "a PosixPath": re.compile(r"PosixPath\("),
    "a torchinfo unit as an enum name": re.compile(r"Units\.[A-Z]+"),
}
PAGES = [entry["file"] for part in TOC["parts"] for entry in part["chapters"]] + [TOC["root"]]


def visible_noise(page_text: str, patterns: dict) -> dict:
    return {what: pattern.findall(page_text)[:3] for what, pattern in patterns.items() if pattern.search(page_text)}


@pytest.mark.parametrize("page_name", PAGES)
def test_student_page_shows_no_build_noise(visit, page_name):
    found = visible_noise(visit("student", page_name)["text"], NOISE)
    assert not found, f"{page_name}: the page shows {found}"


@pytest.mark.parametrize("page_name", PAGES)
def test_student_page_shows_no_machine_paths_or_enum_names(visit, page_name):
    found = visible_noise(visit("student", page_name)["text"], OUTPUT_NOISE)
    assert not found, f"{page_name}: the page shows {found}"


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_is_not_cut_off_at_the_page_width(visit, edition, chapter):
    """At a 1280-pixel window, no code cell is wider than its box (nothing hidden behind a scroll bar)."""
    page = visit(edition, chapter)
    assert page["code_cells"] > 0
    overflowing = page["overflowing_code"]
    assert not overflowing, f"{len(overflowing)} code cell(s) cut off, e.g. {overflowing[:2]}"


def pages_with_tables() -> list[tuple[str, str]]:
    """(edition, page) for every built page whose HTML holds a table: only those can cut one off."""
    return [(edition, page) for edition, root in EDITIONS.items() for page in PAGES
            if (root / f"{page}.html").exists() and "<table" in (root / f"{page}.html").read_text(errors="ignore")]


def test_no_table_is_cut_off(visit):
    """Every column of every table can be seen: in a 1280-px window without scrolling, on a 390-px phone
    at least by scrolling the table's own box."""
    pages = pages_with_tables()
    assert any(page.endswith("comparison") for _, page in pages), "the comparison table is missing"
    cut_off = [f"{edition} {page_name} at {width} px: {found}" for edition, page_name in pages
               for width, found in visit(edition, page_name)["cut_off_tables"].items() if found]
    assert not cut_off, cut_off


def test_comparison_table_is_an_html_table(visit):
    page = visit("student", next(c for c in CHAPTERS if "comparison" in c))
    headers = page["table_headers"]
    assert headers, "the comparison table is not rendered as an HTML <table>"
    # The chapters' own runs: the table with a "test accuracy" row (the race's summary comes first).
    assert any("network" in h and "test accuracy" in h for h in headers), headers
    assert "|---|" not in page["text"], "raw Markdown table text on the page"
