"""A run's HTML page in a real browser: headless Chromium loads the page as a file, finds a row
per measured cell of every variant, and a click on a column header reorders the rows; a filter
hides the other documents. The page fetches nothing: no script, style or image from elsewhere."""

import html
import json
import re
import shutil
import subprocess

import pytest

from suite.read import report
from suite.record import results
from tests.conftest import FIXTURES

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


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium not found: `make test` installs it (apt-get install chromium)")
    return found


def test_the_page_sorts_and_filters_in_a_real_browser(tmp_path):
    run = results.load(FIXTURES / "results-v7.json")
    report.write(run, tmp_path, latest=False)
    page = (tmp_path / f"{run.run_id}.html").read_text()
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=", page)
    assert "<svg" in page and "@import" not in page
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    measured = [(v.name, c) for v in run.variants for c in v.cells if c.repeats]
    assert set(seen["variants"]) == {name for name, _ in measured}
    assert seen["rows"] == len(measured)
    assert seen["after"] == sorted(seen["after"], reverse=True)
    assert seen["after"] != seen["before"]
    assert seen["shown"] == ["large"]
