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
    assert table_row(text, "p99 latency", "fastapi-uvicorn")[1] == f"{p99:,.0f}"
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
    assert table_row(text, "Errors per repeat", "fastapi-uvicorn")[0] == "15 (read 12, timeout 3)"
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
