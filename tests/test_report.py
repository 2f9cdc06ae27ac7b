from suite import report, results
from tests.conftest import FIXTURES


def load():
    return results.load(FIXTURES / "results-v1.json")


def table_row(text: str, title: str, variant: str) -> list[str]:
    section = text.split(f"**{title}")[1]
    line = next(line for line in section.splitlines() if line.startswith(f"| {variant} |"))
    return [part.strip() for part in line.strip("|").split("|")][1:]


def test_report_tables_come_from_the_samples():
    run = load()
    text = report.render(run)
    fastapi = run.variant("fastapi-uvicorn")
    expected = [f"{fastapi.cell('small', c).repeats[0].ok_rps:,.0f}" for c in (50, 1000)]
    assert table_row(text, "Successful requests per second", "fastapi-uvicorn") == expected
    p99 = fastapi.cell("small", 1000).repeats[0].latency_us["p99"] / 1000
    assert table_row(text, "Latency p50 / p99 / p99.9", "fastapi-uvicorn")[1].split(" / ")[1] \
        == f"{p99:,.0f}"
    assert table_row(text, "Errors per repeat", "fastapi-uvicorn") == ["0", "0"]


def test_report_names_failures_settings_and_machine():
    text = report.render(load())
    assert "**flask-dev-broken** failed: server died at start" in text
    assert table_row(text, "Successful requests per second", "flask-dev-broken") == ["–", "–"]
    assert "workers=5, backlog=4096, pool_size=1" in text
    assert "gunicorn 27.0.1" in text and "pymongo 4.20.0" in text
    assert "6.0.5 (embedded mongod)" in text
    assert "## Small document" in text and "## Large document" in text


def test_error_classes_are_itemised():
    run = load()
    sample = run.variant("fastapi-uvicorn").cell("large", 50).repeats[0]
    sample.errors.update(read=12, timeout=3)
    row = table_row(report.render(run), "Errors per repeat", "fastapi-uvicorn")
    # The large-document table is the second "Errors per repeat" table.
    text = report.render(run).split("## Large document")[1]
    rate = sample.error_count / sample.attempts
    assert table_row(text, "Errors per repeat", "fastapi-uvicorn")[0] == \
        f"15 (read 12, timeout 3; {rate:.1%})"
    assert row[0] == "0"


def test_interrupted_runs_are_labelled():
    run = load()
    run.status = "interrupted"
    assert "interrupted: partial results" in report.render(run).splitlines()[0]


def test_write_is_deterministic(tmp_path):
    first = report.write_from_file(FIXTURES / "results-v1.json", tmp_path / "a")
    second = report.write_from_file(FIXTURES / "results-v1.json", tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a" / "latest.md").read_bytes() == first.read_bytes()


def test_repeats_show_spread_unstable_cells_and_resources():
    run = results.load(FIXTURES / "results-v2.json")
    text = report.render(run)
    cell = run.variant("flask-gunicorn-gevent").cell("small", 20)
    rps = sorted(s.ok_rps for s in cell.repeats)
    row = table_row(text, "Successful requests per second", "flask-gunicorn-gevent")
    assert row[0] == f"{rps[1]:,.0f} ({rps[0]:,.0f}–{rps[2]:,.0f}) ⚠"  # CV 18%: unstable
    assert "## Checks" in text and "**unstable**: 4 cell(s)" in text
    assert "CPUs pinned: loadgen [0], server [1], db [1]" in text
    assert "interleaved (repeat r of every variant" in text
    detail = next(line for line in text.splitlines()
                  if line.startswith("| fastapi-uvicorn | small | 100 | 3 |"))
    assert "18.3%" not in detail and " 0.73 | 0.21 | 0.05 | 61 | 0.98 |" in detail
