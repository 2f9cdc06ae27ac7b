"""docs/published-runs.md quotes no hand-typed figure about a run: its figures sit in generated
blocks (suite.read.report.blocks, filled by suite.read.report.published) that `battle readme`
rewrites from the results files, and this test fails when one is stale; the words around the
blocks quote no figure the blocks do not hold."""

import re
from pathlib import Path

import pytest

from suite.read.report import blocks, published

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "published-runs.md"
RUN_ID = r"\d{8}T\d{6}Z-[0-9a-f]{4}"


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text()


@pytest.fixture(scope="module")
def fresh(page, published_results_dir) -> dict[tuple[int, int], str]:
    """What every block of the page says now (from the published runs alone), computed once
    for the module."""
    runs = published.Runs(published_results_dir)
    return {(b.start, b.end): published.body(b, runs) for b in blocks.find(page)}


# -- the mechanism -----------------------------------------------------------------------------

def _text(*parts: str) -> str:
    return "\n".join(parts) + "\n"


def test_blocks_are_found_with_their_arguments_and_replaced_alone():
    start = blocks.start_marker("run", ("R1", "facts"))
    text = _text("# Page", "", "words 1.5", start, "old", "lines", blocks.end_marker("run"),
                 "after", blocks.start_marker("answer"), "x", blocks.end_marker("answer"))
    found = blocks.find(text)
    assert [(b.name, b.args, b.body, b.line) for b in found] == [
        ("run", ("R1", "facts"), "old\nlines", 4), ("answer", (), "x", 9)]
    new = blocks.replace(text, lambda b: f"new {b.key}")
    assert new == _text("# Page", "", "words 1.5", start, "new run: R1 facts",
                        blocks.end_marker("run"), "after", blocks.start_marker("answer"),
                        "new answer", blocks.end_marker("answer"))
    assert blocks.replace(new, lambda b: f"new {b.key}") == new
    assert [b.key for b in blocks.stale(new, lambda b: "old\nlines" if b.args else "new answer")
            ] == ["run: R1 facts"]


@pytest.mark.parametrize("text, message", [
    (_text(blocks.start_marker("run", ("R", "facts")), "body"), "no end marker"),
    (_text("words", blocks.end_marker("run")), "without its start marker"),
    (_text(blocks.start_marker("run", ("R", "facts")), blocks.start_marker("compare", ("A", "B")),
           blocks.end_marker("compare"), blocks.end_marker("run")), "another block inside"),
    (_text(blocks.start_marker("run", ("R", "facts")) + " tail", blocks.end_marker("run"),
           blocks.end_marker("run")), "without its start marker"),
])
def test_markers_that_do_not_pair_up_are_refused(text, message):
    with pytest.raises(blocks.BlockError, match=message):
        blocks.find(text)


def test_a_block_naming_an_unknown_kind_or_a_missing_run_is_a_one_line_error(tmp_path):
    runs = published.Runs(tmp_path)   # an empty results directory
    for args, message in ((("20261201T002551Z-5d28", "nonsense"), "unknown kind 'nonsense'"),
                          (("20261201T002551Z-5d28", "facts"), "no results file"),
                          (("20261201T002551Z-5d28",), "give a run id and a kind")):
        block = blocks.Block("run", args, "", 0, 0, 7)
        with pytest.raises(published.PublishedError, match=message) as caught:
            published.body(block, runs)
        assert "line 7" in str(caught.value) and "\n" not in str(caught.value)


def test_update_rewrites_a_stale_block_and_reports_it(tmp_path, published_results_dir):
    page = tmp_path / "page.md"
    page.write_text(_text("words", blocks.start_marker("run", ("20261123T082022Z-acc2", "facts")),
                          "- **Counted repeats**: 427.", blocks.end_marker("run"), "more words"))
    changed = published.update(page, published_results_dir)
    assert [b.key for b in changed] == ["run: 20261123T082022Z-acc2 facts"]
    text = page.read_text()
    assert text.startswith("words\n") and text.endswith("more words\n") and "427" not in text
    assert "- **Counted repeats**: 3, 3 per cell" in text
    assert published.update(page, published_results_dir) == []


# -- the page ----------------------------------------------------------------------------------

def test_every_block_of_the_page_says_what_its_results_file_says(page, fresh):
    found = blocks.find(page)
    assert len(found) > 40
    stale = [f"line {b.line}: {b.key}" for b in found if b.body != fresh[(b.start, b.end)]]
    assert not stale, "stale blocks (run `make readme`): " + "; ".join(stale)


def test_a_number_edited_by_hand_inside_a_block_is_caught(page, fresh):
    block = next(b for b in blocks.find(page) if b.args[1:2] == ("facts",))
    body = block.body
    digit = re.search(r"\d", body)
    edited_body = body[:digit.start()] + str((int(digit.group()) + 1) % 10) + body[digit.end():]
    edited = page[:block.start] + blocks.text_of(block, edited_body) + page[block.end:]
    by_key = {(b.name, b.args): fresh[(b.start, b.end)] for b in blocks.find(page)}
    stale = blocks.stale(edited, lambda b: by_key[(b.name, b.args)])
    assert [b.key for b in stale] == [block.key]


def test_every_run_the_page_describes_has_its_record_and_a_results_file(page,
                                                                         published_results_dir):
    found = blocks.find(page)
    with_facts = {b.args[0] for b in found if b.name == "run" and b.args[1:2] == ("facts",)}
    headings = {run for line in page.splitlines() if line.startswith("#")
                for run in re.findall(RUN_ID, line)}
    assert headings and headings <= with_facts, sorted(headings - with_facts)
    named = {arg for b in found for arg in b.args if re.fullmatch(RUN_ID, arg)}
    assert all((published_results_dir / f"{run}.json").exists() for run in named)


def _sections(page: str) -> list[tuple[str, str, str]]:
    """(heading, prose, its blocks' text) per section of the page: from one heading to the
    next, the prose being the section without its blocks."""
    found = blocks.find(page)
    marked, position = "", 0
    for i, b in enumerate(found):   # each block becomes a placeholder naming it
        marked += page[position:b.start] + f"\0{i}\0"
        position = b.end
    marked += page[position:]
    sections = []
    for chunk in re.split(r"(?m)^(?=#)", marked):
        if chunk.strip():
            held = "\n".join(found[int(i)].body for i in re.findall(r"\0(\d+)\0", chunk))
            sections.append((chunk.splitlines()[0], re.sub(r"\0\d+\0", "", chunk), held))
    return sections


# What prose may quote, and why. A decimal point, a per cent sign or a × is always a measured
# figure or a ratio of them: none of the three may appear outside a block (run ids, dates,
# commit hashes, file names and the commands quoted in code spans hold none of them, so nothing
# needs an exception). Whole numbers: run ids and dates name runs, a code span quotes a command,
# a setting or a path (inputs, not results), a link's target is a path; every other whole number
# (a connection level, the database's added milliseconds, the study's year, a count) must be one
# that the blocks of the same section hold.
FIGURE = re.compile(r"\d\.\d|%|×")
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
NOT_A_FIGURE = re.compile(rf"{RUN_ID}|\d{{4}}-\d{{2}}-\d{{2}}|`[^`\n]*`|\]\([^)]*\)")


def _figures(page: str) -> list[str]:
    """Lines of prose that quote a decimal, a share or a ratio."""
    return [f"{heading}: {line.strip()}" for heading, prose, _ in _sections(page)
            for line in prose.splitlines() if FIGURE.search(line)]


def _unheld(page: str) -> list[str]:
    """Whole numbers of the prose that no block of their section holds."""
    found = []
    for heading, prose, held in _sections(page):
        allowed = {n.replace(",", "") for n in NUMBER.findall(held)}
        found += [f"{heading}: {n}" for n in NUMBER.findall(NOT_A_FIGURE.sub(" ", prose))
                  if n.replace(",", "") not in allowed]
    return found


def test_the_prose_around_the_blocks_quotes_no_measured_figure(page):
    found = _figures(page)
    assert not found, "figures outside the generated blocks:\n" + "\n".join(found)


def test_every_whole_number_the_prose_quotes_is_one_its_section_s_blocks_hold(page):
    found = _unheld(page)
    assert not found, "numbers no block of their section holds:\n" + "\n".join(found)


def test_the_prose_checks_catch_typed_figures_and_let_names_and_commands_pass():
    block = _text(blocks.start_marker("run", ("20261201T002551Z-5d28", "facts")),
                  "- 425 repeats at 200, 1000 connections", blocks.end_marker("run"))
    clean = _text("### `20261201T002551Z-5d28` of 2026-12-01", "",
                  "At 200 and 1,000 connections (`--set workers=1,2,3`, `f70e9d4`), see",
                  "[the guide](reading-a-report.md).", block)
    assert _figures(clean) == [] and _unheld(clean) == []
    typed = clean.replace("see", "served 1.42× as much in 427 repeats, 3% failed")
    assert len(_figures(typed)) == 1 and _unheld(typed) == [
        "### `20261201T002551Z-5d28` of 2026-12-01: 1",
        "### `20261201T002551Z-5d28` of 2026-12-01: 42",
        "### `20261201T002551Z-5d28` of 2026-12-01: 427",
        "### `20261201T002551Z-5d28` of 2026-12-01: 3"]
    # A figure of another section's block does not count for this one.
    other = typed.replace("427 repeats", "425 repeats").replace(
        "### `", "### `x\n\n## other section\n\n### `", 0)
    assert "### `20261201T002551Z-5d28` of 2026-12-01: 425" not in _unheld(other)
