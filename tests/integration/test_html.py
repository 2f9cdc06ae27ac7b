"""A run's HTML page in a real browser: headless Chromium loads the page as a file, finds a row
per measured cell of every variant, and a click on a column header reorders the rows; a filter
hides the other documents. The page fetches nothing: no script, style or image from elsewhere.
And what the browser shows of each section of the page is the text of the same section of the
markdown report, for the current answer and for a run of deployments behind nginx."""

import html
import json
import re
import shutil
import subprocess

import pytest

from suite import REPO_ROOT
from suite.read import report
from suite.read.report import html as page_module
from suite.read.report import index
from suite.record import results
from tests.conftest import FIXTURES
from tests.markdown_text import normalize, section_texts

pytestmark = pytest.mark.integration

# Appended to a copy of the page: once it has loaded, click the req/s header, pick a document
# in the filter, and write what the table showed into the DOM Chromium dumps.
PROBE = """<script>
window.addEventListener('load', () => {
  const table = document.getElementById('cells');
  const rows = () => [...table.tBodies[0].rows];
  const rps = () => rows().map(r => parseFloat(r.cells[5].dataset.v));
  const before = rps();
  table.querySelector('th[data-key="rps"]').click();
  const after = rps();
  const filter = document.querySelector('select[data-filter="doc"]');
  filter.value = 'large';
  filter.dispatchEvent(new Event('change'));
  const shown = [...new Set(rows().filter(r => !r.hidden).map(r => r.dataset.doc))];
  document.body.setAttribute('data-probe', JSON.stringify({
    variants: [...new Set(rows().map(r => r.cells[0].textContent))],
    rows: rows().length, before, after, shown}));
});
</script>"""


# Appended to a copy of the page: once it has loaded, open every <details> (a closed one hides
# its content from innerText), take the charts out (their labels are the chart's, not the
# report's text), and write each section's heading and visible text into the DOM.
SECTIONS_PROBE = """<script>
window.addEventListener('load', () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('svg').forEach(svg => svg.remove());
  const sections = [...document.querySelectorAll('section')].map(section => {
    const [heading, ...rest] = [...section.children];
    return [heading.innerText, rest.map(child => child.innerText).join('\\n')];
  });
  document.body.setAttribute('data-sections', JSON.stringify(sections));
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium not found: `make test` installs it (apt-get install chromium)")
    return found


def dump_dom(page_file) -> str:
    """The DOM headless Chromium made of a page (a file), after its scripts ran."""
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=5000", "--dump-dom", page_file.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr[-2000:]
    return done.stdout


def published(run_id: str | None = None):
    """A published run (in git): `run_id`, or the current answer."""
    if run_id is not None:
        return results.load(REPO_ROOT / "results" / f"{run_id}.json")
    tracked = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "results/*.json"],
                             capture_output=True, text=True, check=True).stdout.split()
    # results/<run-id>.json only: a run's raw output beside it has JSON files too.
    return index.current([results.load(REPO_ROOT / path) for path in tracked
                          if path.count("/") == 1])


@pytest.mark.parametrize("run_id", [None, "20261130T103302Z-f596"],
                         ids=["current-answer", "deployments"])
def test_every_section_reads_in_the_browser_as_in_the_markdown(tmp_path, run_id):
    run = published(run_id)
    assert run is not None, "no published run answers the question"
    report.write(run, tmp_path, latest=False)
    markdown = (tmp_path / f"{run.run_id}.md").read_text()
    page = (tmp_path / f"{run.run_id}.html").read_text()
    probe = tmp_path / "sections.html"
    probe.write_text(page.replace("</body>", SECTIONS_PROBE + "</body>"))
    found = re.search(r'data-sections="([^"]*)"', dump_dom(probe))
    assert found, "the probe did not run"
    shown = [(normalize(heading), normalize(text))
             for heading, text in json.loads(html.unescape(found.group(1)))]
    expected = section_texts(markdown)
    assert len(expected) > 10
    # The page has one section more than the report: its sortable table of every cell.
    assert [title for title, _ in shown].count(page_module.SORTABLE_TITLE) == 1
    shown = [s for s in shown if s[0] != page_module.SORTABLE_TITLE]
    assert [title for title, _ in shown] == [title for title, _ in expected]
    for (title, text), (_, wanted) in zip(shown, expected):
        assert text == wanted, f"section {title!r} reads differently on the page"


def test_the_page_sorts_and_filters_in_a_real_browser(tmp_path):
    run = results.load(FIXTURES / "results-v7.json")
    report.write(run, tmp_path, latest=False)
    page = (tmp_path / f"{run.run_id}.html").read_text()
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=", page)
    assert "<svg" in page and "@import" not in page
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    found = re.search(r'data-probe="([^"]*)"', dump_dom(probe))
    assert found, "the probe did not run"
    seen = json.loads(html.unescape(found.group(1)))
    measured = [(v.name, c) for v in run.variants for c in v.cells if c.repeats]
    assert set(seen["variants"]) == {name for name, _ in measured}
    assert seen["rows"] == len(measured)
    assert seen["after"] == sorted(seen["after"], reverse=True)
    assert seen["after"] != seen["before"]
    assert seen["shown"] == ["large"]
