"""The README is the front door: short, true, linking only to what exists in the repository,
and its answer is the one the newest published run of the whole question gives."""

import re
from pathlib import Path

import pytest

from suite.read.report import index, readme

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def test_the_readme_is_short_and_its_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert links and all((ROOT / link).exists() for link in links if "://" not in link), links
    # Nothing outside the repository, no issue numbers.
    assert "../shared" not in text and not re.search(r"\bissue \d+", text)


def test_every_doc_links_only_to_what_exists():
    for doc in (ROOT / "docs").glob("*.md"):
        text = doc.read_text()
        for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" not in link:
                assert (doc.parent / link).exists(), (doc.name, link)
        assert "../shared" not in text and not re.search(r"\bissue \d+", text), doc.name


def test_the_readme_answer_is_generated_from_the_run_it_names(published_results_dir):
    text = README.read_text()
    start, end = text.index(readme.README_START), text.index(readme.README_END)
    block = text[start:end + len(readme.README_END)]
    named = re.search(r"run \[(\d{8}T\d{6}Z-[0-9a-f]{4})\]", block)
    if named is None:
        pytest.fail("the README's answer names no run: run `make readme` after publishing one")
    from suite.record import results

    run = results.load(published_results_dir / f"{named.group(1)}.json")   # a published run
    assert index.answers_the_question(run)
    assert block == readme.readme_block(run), "stale: run `make readme`"
