"""The HTML page of a run is made from the markdown report's own lines: every section of the
.md is on the page with the same text (read apart from the converter, tests/markdown_text.py),
the converter handles the markdown subset the reports use, and everything else is escaped."""

import re
from pathlib import Path

import pytest

from suite import REPO_ROOT
from suite.read import report
from suite.read.report import html as page_module
from suite.read.report import markup
from suite.record import results
from tests.conftest import FIXTURES
from tests.markdown_text import page_sections, section_texts

REPORTS = REPO_ROOT / "reports"
# Study and database latency (v5), writes and a sweep behind nginx (v6), sittings, a baseline
# and spreads (v7): between them every kind of section a report has.
RUNS = ("results-v5.json", "results-v6.json", "results-v7.json")


def convert(markdown: str) -> str:
    return "\n".join(markup.blocks(markdown.splitlines()))


def test_a_table_keeps_its_header_alignment_and_cells():
    made = convert("| variant | req/s | note |\n|---|---:|:-:|\n| `a` | 1,234 | *x* |\n| b |")
    assert made == ('<table><thead><tr><th>variant</th><th class="n">req/s</th>'
                    '<th class="c">note</th></tr></thead><tbody>'
                    '<tr><td><code>a</code></td><td class="n">1,234</td>'
                    '<td class="c"><em>x</em></td></tr>'
                    '<tr><td>b</td><td class="n"></td><td class="c"></td></tr></tbody></table>')


def test_links_code_and_emphasis_are_markup_and_everything_else_is_text():
    made = markup.inline('**best** *baseline* `a <b> & *c*` [the guide](../docs/x.md?a=1&b="2")'
                         ' <script>alert(1)</script> 5 * 3 & \'q\'')
    assert made == ('<strong>best</strong> <em>baseline</em> <code>a &lt;b&gt; &amp; *c*</code>'
                    ' <a href="../docs/x.md?a=1&amp;b=&quot;2&quot;">the guide</a>'
                    ' &lt;script&gt;alert(1)&lt;/script&gt; 5 * 3 &amp; &#x27;q&#x27;')


def test_a_link_label_may_hold_code_and_bold_may_hold_a_link():
    assert markup.inline("**[`x`](a.md)**") == '<strong><a href="a.md"><code>x</code></a></strong>'


def test_lists_nest_by_indentation_and_continue_on_lazy_lines():
    made = convert("- one\n  - one.a\n  - one.b\n- two\nstill two\n\nafter")
    assert made == ("<ul><li>one<ul><li>one.a</li><li>one.b</li></ul></li>"
                    "<li>two\nstill two</li></ul>\n<p>after</p>")


def test_details_code_quote_and_rule():
    made = convert("<details><summary>the <config></summary>\n\n```nginx\nlisten 80; # <x>\n"
                   "```\n\n</details>\n\n> **WARNING**: runtimes differ\n\n---\n")
    assert made.split("\n") == [
        "<details><summary>the &lt;config&gt;</summary>",
        '<pre><code class="language-nginx">listen 80; # &lt;x&gt;</code></pre>',
        "</details>", "<blockquote><p><strong>WARNING</strong>: runtimes differ</p></blockquote>",
        "<hr>"]


def test_an_image_alone_on_its_line_is_the_hooks_and_otherwise_an_img():
    hook = lambda alt, src: f"<figure>{alt}|{src}</figure>" if src.endswith(".svg") else None
    assert markup.blocks(["![a chart](r/c.svg)"], hook) == ["<figure>a chart|r/c.svg</figure>"]
    assert markup.blocks(["![a photo](p.png)"], hook) == ['<p><img src="p.png" alt="a photo"></p>']


def test_sections_cut_at_headings_but_not_inside_code():
    found = markup.sections(["# Top", "intro", "## A", "```", "# not a heading", "```", "### B"])
    assert [(s.level, s.title) for s in found] == [(1, "Top"), (2, "A"), (3, "B")]
    assert found[1].lines == ("```", "# not a heading", "```")


def test_ids_are_unique_on_a_page():
    taken: set[str] = set()
    assert [markup.slug(t, taken) for t in ("Every cell", "Every cell", "The `answer`!")] == [
        "every-cell", "every-cell-1", "the-answer"]


def test_reading_apart_from_the_converter_sees_a_missing_or_changed_section():
    """The comparison the page tests rest on can fail: a section left out, or a word changed,
    is a difference."""
    markdown = "# Run\n\nintro\n\n## The answer\n\n**a** wins\n\n## Checks\n\n- none\n"
    page = "\n".join(page_module.sections_html(markdown.splitlines(), Path(".")))
    assert page_sections(page) == section_texts(markdown) == [
        ("Run", "intro"), ("The answer", "a wins"), ("Checks", "none")]
    dropped = re.sub(r'<section id="checks">.*?</section>', "", page, flags=re.S)
    assert page_sections(dropped) != section_texts(markdown)
    assert page_sections(page.replace("wins", "loses")) != section_texts(markdown)


@pytest.fixture(scope="module", params=RUNS)
def written(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    run = results.load(FIXTURES / request.param)
    report.write(run, out, latest=False)
    return (out / f"{run.run_id}.md").read_text(), (out / f"{run.run_id}.html").read_text()


def test_every_section_of_the_report_is_on_the_page_with_its_text(written):
    markdown, page = written
    expected, shown = section_texts(markdown), page_sections(page)
    extra = [s for s in shown if s[0] == page_module.SORTABLE_TITLE]
    assert len(extra) == 1
    assert [s for s in shown if s[0] != page_module.SORTABLE_TITLE] == expected
    # The sortable table comes right after the answer, before the first section per document.
    titles = [title for title, _ in shown]
    assert titles[titles.index(page_module.SORTABLE_TITLE) - 1] in (
        "The answer", *(t for t, _ in expected if t.startswith("The answer")))


def test_every_heading_of_the_report_is_a_heading_of_the_page(written):
    markdown, page = written
    unfenced = re.sub(r"^```.*?^```$", "", markdown, flags=re.M | re.S)   # no heading in code
    headings = re.findall(r"^(#{1,6}) (.+)$", unfenced, flags=re.M)
    assert headings
    for hashes, title in headings:
        level = len(hashes)
        assert f"<h{level}>{markup.inline(title)}</h{level}>" in page, title


def test_the_page_links_where_the_report_links_and_draws_its_charts_inline(written):
    markdown, page = written
    linked = set(re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)", markdown))
    hrefs = set(re.findall(r'<a href="([^"]+)"', page))
    assert linked and linked <= hrefs
    charts = re.findall(r"^!\[[^\]]*\]\(([^)]+\.svg)\)$", markdown, flags=re.M)
    assert charts and page.count('<figure class="chart"') == len(charts)
    assert not re.search(r"<(img|script|link)[^>]+(src|href)=", page)


@pytest.mark.parametrize("path", sorted(REPORTS.glob("2026*.md")), ids=lambda p: p.stem)
def test_published_reports_convert_section_for_section(path):
    """Every published report, converted as its page is, shows each section's text, and the
    links it makes resolve from reports/ as the markdown's do."""
    markdown = path.read_text()
    page = "\n".join(page_module.sections_html(markdown.splitlines(), REPORTS))
    assert page_sections(page) == section_texts(markdown)
    for href in re.findall(r'<a href="([^"#]+)', page):
        if "://" not in href:
            assert (REPORTS / href).exists(), href
