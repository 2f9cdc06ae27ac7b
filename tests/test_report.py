from suite.read import report
from suite.record import results
from tests.conftest import FIXTURES, published_results


def load():
    return results.load(FIXTURES / "results-v1.json")


def table_row(text: str, title: str, variant: str) -> list[str]:
    section = text.split(f"**{title}")[1]
    line = next(line for line in section.splitlines() if line.startswith(f"| {variant} |"))
    return [part.strip() for part in line.strip("|").split("|")][1:]


def test_report_tables_come_from_the_samples():
    run = results.load(FIXTURES / "results-v4.json")
    text = report.render(run)
    fastapi = run.variant("fastapi-uvicorn")
    expected = [_median_rps(fastapi.cell("small", c)) for c in (20, 300)]
    row = table_row(text, "Successful requests per second", "fastapi-uvicorn")
    assert [v.removeprefix("✗ ").split(" (")[0] for v in row] == expected
    p99 = sorted(s.latency_us["p99"] for s in fastapi.cell("small", 20).repeats)[1] / 1000
    assert table_row(text, "Latency p50 / p99 / p99.9", "fastapi-uvicorn")[0].split(" / ")[1] \
        == f"{p99:,.0f}"
    # Failures are one real repeat's: the median repeat by failed share, with its classes.
    repeats = fastapi.cell("small", 300).repeats
    middle = sorted(repeats, key=lambda s: s.error_rate)[1]
    failed = table_row(text, "Failed share of attempts", "fastapi-uvicorn")
    assert failed[0] == "0" and failed[1].startswith(
        f"{middle.error_rate:.1%} (late {middle.errors['late']}, lost {middle.errors['lost']})")
    # More than 1% failed: marked with the attempts of all its repeats pooled (and the worst
    # repeat where it failed more), and not ranked.
    pooled = (sum(s.failed_attempts for s in repeats) / sum(s.attempts for s in repeats))
    worst = max(s.error_rate for s in repeats)
    assert row[1].startswith("✗ ") and row[1].endswith(
        f"{pooled:.1%} failed (one repeat {worst:.1%})")


def _median_rps(cell) -> str:
    return f"{sorted(s.ok_rps for s in cell.repeats)[1]:,.0f}"


def test_old_runs_show_what_was_not_measured():
    text = report.render(load())
    row = table_row(text, "Latency p50 / p99 / p99.9", "fastapi-uvicorn")
    assert "not measured" in row
    assert table_row(text, "Failed share of attempts", "fastapi-uvicorn")[0] == \
        "0 [not counted: lost, body]"
    assert "**corrected-latency**" in text


def test_report_names_failures_settings_and_machine():
    text = report.render(load())
    assert "**flask-dev-broken** failed: server died at start" in text
    # A variant that never got to a cell has no row of dashes; Failures names it.
    section = text.split("**Successful requests per second")[1].split("\n\n")[1]
    assert "| flask-dev-broken |" not in section and "| flask-gunicorn-sync |" in section
    assert "workers=5, backlog=4096, pool_size=1" in text
    assert "gunicorn 27.0.1" in text and "pymongo 4.20.0" in text
    assert "6.0.5 (embedded mongod)" in text
    assert "## Small document" in text and "## Large document" in text


def test_error_classes_are_itemised():
    run = results.load(FIXTURES / "results-v4.json")
    for sample in run.variant("flask-gunicorn-sync").cell("small", 300).repeats:
        sample.errors.update(read=12, body=3)
    sample = run.variant("flask-gunicorn-sync").cell("small", 300).repeats[0]
    rate = sorted(s.error_rate for s in run.variant("flask-gunicorn-sync").cell("small", 300)
                  .repeats)[1]
    row = table_row(report.render(run), "Failed share of attempts", "flask-gunicorn-sync")
    assert row == ["0", f"{rate:.1%} (read 12, body 3)"]
    assert sample.ok_requests == sample.requests - 3


def test_interrupted_runs_are_labelled():
    run = load()
    run.status = "interrupted"
    assert "interrupted: partial results" in report.render(run).splitlines()[0]


def test_write_is_deterministic(tmp_path):
    first = report.write(load(), tmp_path / "a")
    second = report.write(load(), tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".html").read_bytes() == second.with_suffix(".html").read_bytes()
    assert (tmp_path / "a" / "latest.md").read_bytes() == first.read_bytes()


def test_repeats_show_spread_unstable_cells_and_resources():
    run = results.load(FIXTURES / "results-v4.json")
    text = report.render(run)
    cell = run.variant("flask-gunicorn-sync").cell("small", 300)
    rps = sorted(s.ok_rps for s in cell.repeats)
    row = table_row(text, "Successful requests per second", "flask-gunicorn-sync")
    assert row[1] == f"{rps[1]:,.0f} ({rps[0]:,.0f}–{rps[2]:,.0f}) ⚠"  # CV 32%: unstable
    assert "## Checks" in text and "**unstable**: 3 cell(s)" in text
    assert "CPUs pinned: loadgen [0], server [1], db [1]" in text
    assert "interleaved (repeat r of every variant" in text
    detail = next(line for line in text.splitlines()
                  if line.startswith("| fastapi-uvicorn | small@300 | 3 |"))
    counts = "; ".join(f"{s.requests:,} / {s.latency_count:,}"
                       for s in run.variant("fastapi-uvicorn").cell("small", 300).repeats)
    assert f"| {counts} |" in detail and "≠" not in detail
    assert " 0.60 | 0.15 | 0.06 | 67 RSS | 0.48 |" in detail


def test_database_latency_cells_have_their_own_sections_and_measured_latency():
    run = results.load(FIXTURES / "results-v5.json")
    text = report.render(run)
    assert "## Small document, database +2 ms" in text and "## Large document, database +2 ms" in text
    verified = run.mongo.fail_point["verified"][0]
    added = sorted(c.added_ms for v in run.variants for cell in v.cells
                   if cell.db_latency_ms == 2 for c in cell.db_latency_checks)
    row = next(line for line in text.splitlines() if line.startswith("| +2 ms |"))
    assert (f"{verified['added_ms']:.2f} ms; 20 at once: "
            f"{verified['concurrent_p50_ms']:.1f} ms each") in row
    assert f"({added[0]:.2f}–{added[-1]:.2f}), {len(added)} checks" in row
    assert "What it does not:" in text
    assert row.endswith(" | – |")   # a run from before mongod's CPU per find was read
    verified.update(mongod_cpu_us_per_find_without=171.4, mongod_cpu_us_per_find_with=379.6)
    row = next(line for line in report.render(run).splitlines() if line.startswith("| +2 ms |"))
    assert row.endswith(" | 171 → 380 µs (+208) |")
    # Each latency level's cells are its own: the +2 ms table reads the +2 ms cells.
    gevent = run.variant("flask-gunicorn-gevent")
    slow = sorted(s.ok_rps for s in gevent.cell("small", 200, 2).repeats)
    section = text.split("## Small document, database +2 ms")[1]
    assert table_row(section, "Successful requests per second",
                     "flask-gunicorn-gevent")[0].removeprefix("✗ ").startswith(f"{(slow[0] + slow[1]) / 2:,.0f}")


def test_cost_per_request_is_cpu_time_over_successful_requests():
    run = results.load(FIXTURES / "results-v5.json")
    cell = run.variant("tornado-motor").cell("large", 200)
    per_repeat = [s.usage("server").cpu_cores * s.duration_s / s.ok_requests * 1e6
                  for s in cell.repeats]
    text = report.render(run)
    row = table_row(text, "Large document: server / mongod CPU µs per successful request",
                    "tornado-motor")
    assert row[0].split(" / ")[0] == f"{sum(per_repeat) / 2:,.0f}"


def test_a_run_from_a_changed_tree_says_so_instead_of_a_checkout():
    run = results.load(FIXTURES / "results-v5.json")
    run.environment.update(git_dirty=True, git_diff_sha256="ab" * 32)
    text = report.render(run)
    assert "git checkout" not in text and f"diff sha256 {'ab' * 32}" in text
    run.environment.update(git_dirty=False, git_diff_sha256=None)
    assert f"`git checkout {run.environment['git_commit']}`" in report.render(run)


def test_the_report_says_whether_nginx_took_failed_instances_out_of_rotation():
    # The v6 fixture's nginx kept its default passive health check (written before max_fails=0);
    # a configuration the suite writes today keeps every instance in rotation.
    from pathlib import Path

    from suite.measure.balancer import NginxConfig

    run = results.load(FIXTURES / "results-v6.json")
    assert all(v.deployment.ejects_failed_instances for v in run.variants)
    old = report.render(run)
    assert "In every row of this run nginx kept its default passive health check" in old
    assert "No instance leaves the rotation" not in old

    today = NginxConfig("round_robin", 8000, (8001, 8002), worker_processes=2,
                        max_connections=200).render(Path("/tmp/nginx"))
    assert today.count(" max_fails=0;") == 2 and "keepalive_timeout 1s;" in today
    run.variants[0].deployment.config = today
    mixed = report.render(run)
    assert f"In rows {run.variants[1].name} nginx kept" in mixed
    for variant in run.variants:
        variant.deployment.config = today
    new = report.render(run)
    assert "No instance leaves the rotation" in new and "passive health check" not in new


def sections(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:]
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def test_the_first_screen_is_the_answer():
    run = results.load(FIXTURES / "results-v7.json")
    text = report.render(run)
    assert list(sections(text))[0] == "The answer"
    answer = "\n".join(sections(text)["The answer"])
    # A recommendation with its confidence, never the baseline.
    assert "Confidence " in answer and "**asgi-uvicorn**:" not in answer
    assert "| small@10 | " in answer and "asgi-uvicorn" in answer.split("| small@10 |")[1] \
        .split("\n")[0]                      # the ceiling's column
    assert "**Best of each worker model**" in answer
    # The first screen: the answer ends within the first 40 lines.
    first = next(i for i, line in enumerate(text.splitlines())
                 if line.startswith("## Small document"))
    assert first < 40


def published_and_fixture_runs():
    """The fixtures and the published runs (conftest.published_results: what git holds)."""
    paths = [*sorted(FIXTURES.glob("results-v*.json")), *published_results()]
    return [results.load(path) for path in paths]


def test_reports_have_no_empty_section_and_no_runaway_findings():
    for run in published_and_fixture_runs():
        text = report.render(run)
        for title, lines in sections(text).items():
            assert any(line.strip() for line in lines), (run.run_id, title)
            rows = [line for line in lines if line.startswith("| ") and not line.startswith("|---")]
            for row in rows[1:]:
                cells = [c.strip() for c in row.strip("|").split("|")][1:]
                assert cells and set(cells) != {"–"} or len(rows) < 2, (run.run_id, title, row)
        for line in sections(text).get("Findings", []):
            if not line.startswith("|"):
                assert len(line) <= 300, (run.run_id, line)


def test_the_index_is_one_compact_line_per_run_and_latest_is_a_complete_read_run():
    from suite.read.report import index

    runs = published_and_fixture_runs()
    text = index.render_index(runs, {r.run_id for r in runs})
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert len(rows) == len(runs) and all(len(row) <= 400 for row in rows)
    assert text.count("Made before results schema v4") == 1          # a footnote, once
    shown = index.latest(runs)
    assert shown.status == "complete" and {"small", "large"} & set(shown.profile.docs)
    assert not any(v.sweep or v.deployment for v in shown.variants)
    full = [r for r in runs if index.answers_the_question(r)]
    if full:
        assert shown is max(full, key=lambda r: r.run_id)


def test_a_run_of_named_variants_is_not_the_current_answer():
    """However complete, a run of chosen variants (e.g. the free-threaded rows and a few
    others) answers a narrower question than the product's."""
    import dataclasses

    from suite.read.report import index

    run = results.load(FIXTURES / "results-v9.json")
    profile = dataclasses.replace(run.profile, docs=("small", "large"),
                                  connections=(200, 1000, 5000), db_latencies_ms=(0,))
    every = dataclasses.replace(run, status="complete", profile=profile,
                                argv=["battle", "run", "--profile", "adaptive"])
    named = dataclasses.replace(every, argv=["battle", "run", "fastapi-uvicorn", "--docs",
                                             "small,large"])
    assert index.answers_the_question(every) and index.named_variants(every) == []
    assert not index.answers_the_question(named)
    assert index.named_variants(named) == ["fastapi-uvicorn"]
    # NAME@N names its row too (that row behind the balancer).
    deployed = dataclasses.replace(every, argv=["battle", "run", "fastapi-uvicorn@2",
                                                "--balancer", "nginx", "--repeats", "3"])
    assert index.named_variants(deployed) == ["fastapi-uvicorn"]


def test_a_variant_named_after_the_options_is_still_named():
    """`battle run --runtime docker A B` names A and B as much as `battle run A B --runtime
    docker` does: such a run is not the current answer either."""
    import dataclasses

    from suite.read.report import index

    run = results.load(FIXTURES / "results-v9.json")
    profile = dataclasses.replace(run.profile, docs=("small", "large"),
                                  connections=(200, 1000, 5000), db_latencies_ms=(0,))
    after = dataclasses.replace(run, status="complete", profile=profile,
                                argv=["battle", "run", "--runtime", "docker", "--profile",
                                      "adaptive", "fastapi-uvicorn", "asgi-uvicorn"])
    assert index.named_variants(after) == ["fastapi-uvicorn", "asgi-uvicorn"]
    assert not index.answers_the_question(after)
    every = dataclasses.replace(after, argv=["battle", "run", "--runtime", "docker"])
    assert index.answers_the_question(every)


def _index_runs():
    """Two runs made from the v10 fixture: one of every variant on one machine whose catalog
    is today's, with 5 s repeats and a 4 s timeout; one of named variants placed on three
    engines of one box, from another catalog file, with one row that measured nothing."""
    import dataclasses

    from suite.read.report import index

    run = results.load(FIXTURES / "results-v10.json")
    names = [v.name for v in run.variants]
    rows = index.Catalog(rows=(*names, "extra-one", "extra-two"), sha256="today")
    local = dataclasses.replace(
        run, run_id="20990102T000000Z-aaaa", argv=["battle", "run"],
        profile=dataclasses.replace(run.profile, duration_s=5, timeout_s=4, repeats=3,
                                    max_repeats=5),
        plan={**run.plan, "catalog_sha256": "today"})
    host = {"engine": "unix:///e/{}.sock", "name": "vm", "cpu_model": "Box CPU", "cpus": 2}
    placement = {"hosts": {role: {**host, "engine": host["engine"].format(role)}
                           for role in ("client", "server", "db")}, "links": []}
    broken = dataclasses.replace(run.variants[0], status="failed", cells=[
        dataclasses.replace(c, status="skipped", repeats=[]) for c in run.variants[0].cells])
    placed = dataclasses.replace(
        run, run_id="20990101T000000Z-bbbb", runtime="docker",
        runtime_details=dataclasses.replace(run.runtime_details, name="docker",
                                            placement=placement),
        profile=dataclasses.replace(run.profile, duration_s=7, timeout_s=6, repeats=2,
                                    max_repeats=None),
        variants=[broken, *run.variants[1:]], plan={**run.plan, "catalog_sha256": "older"})
    return rows, local, placed


def test_the_index_shows_runtime_placement_profile_as_run_and_lacking_rows_on_both_pages():
    import html as html_module

    from suite.read.report import index

    rows, local, placed = _index_runs()
    runs = [local, placed]
    best_of = {r.run_id: "x" for r in runs}
    table = index.table(runs, {r.run_id for r in runs}, best_of, rows)
    by_id = {row.run_id: dict(zip(index.COLUMNS[1:], row.cells)) for row in table.rows}
    first, second = by_id[local.run_id], by_id[placed.run_id]
    assert first["runtime, placement"] == "local, one machine"
    assert second["runtime, placement"] == "docker, three engines, one box"
    assert first["profile as run"] == "adaptive (5 s × 3–5, timeout 4 s)"
    assert second["profile as run"] == "adaptive (7 s × 2, timeout 6 s)"
    # Every variant, today's catalog: the two extra rows are listed as left out by the run.
    assert first["catalog rows"] == f"{len(local.variants)} of {len(rows.rows)} (a)"
    assert table.notes[0].startswith("(a) extra-one, extra-two: not in the run; its catalog "
                                     "had them")
    # Named variants from another catalog: not listed, except the named row that measured
    # nothing, which is also not counted as covered.
    assert second["catalog rows"] == (f"{len(placed.variants) - 1} of {len(rows.rows)}, named "
                                      "(b)")
    assert table.notes[1] == (f"(b) {placed.variants[0].name}: in the run, no cell measured "
                              "(its report's Failures say why).")
    text = index.render_index(runs, {r.run_id for r in runs}, best_of, rows)
    page = index.render_index_html(runs, {r.run_id for r in runs}, best_of, rows)
    for row in table.rows:
        assert "| " + " | ".join(row.cells) + " |" in text
        assert "".join(f"<td>{html_module.escape(c)}</td>" for c in row.cells) in page
    for note in table.notes:
        assert f"\n{note}\n" in text and f"<p>{html_module.escape(note)}</p>" in page
    for column in index.COLUMNS:
        assert f"<th>{column}</th>" in page and f" {column} |" in text


def test_uncovered_lists_todays_catalog_rows_the_run_did_not_measure():
    import dataclasses

    from suite.read.report import index
    from suite.record import catalog

    rows, local, placed = _index_runs()
    assert index.uncovered(local, rows) == ["extra-one", "extra-two"]
    assert index.uncovered(placed, rows) == [placed.variants[0].name, "extra-one", "extra-two"]
    # A sweep's rows measure the catalog row they come from.
    sweep = results.load(FIXTURES / "results-v5-sweep.json")
    assert index.uncovered(sweep, index.Catalog(("flask-gunicorn-sync", "other"), None)) \
        == ["other"]
    # Against today's catalog by default: the published current answer lacks exactly the
    # catalog's rows it has no variant of.
    now = index.current(published_and_fixture_runs())
    today = list(catalog.load_catalog())
    have = {v.name for v in now.variants}
    assert index.uncovered(now) == [name for name in today if name not in have]
    assert index.uncovered(dataclasses.replace(now, variants=[])) == today


def test_the_current_answer_rule_is_stated_once_and_every_surface_links_to_it():
    import re
    from pathlib import Path

    from suite.read.report import index

    root = Path(__file__).parents[1]
    guide = (root / "docs" / "reading-a-report.md").read_text()
    heading = "## Which run is the current answer"
    assert guide.count(heading) == 1
    assert index.RULE.endswith("#" + heading[3:].lower().replace(" ", "-"))
    runs = published_and_fixture_runs()
    anchor = "reading-a-report.md#which-run-is-the-current-answer"
    assert f"({index.RULE})" in index.render_index(runs)
    assert f'href="{index.RULE}"' in index.render_index_html(runs, set())
    for path in ("README.md", "docs/published-runs.md"):
        assert anchor in (root / path).read_text(), path
    # The old words picked a run the code does not (one that named its variants).
    stale = re.compile(r"newest complete run of the whole question", re.I)
    for path in [root / "README.md", *(root / "docs").glob("*.md"),
                 *(root / "suite").rglob("*.py")]:
        assert not stale.search(path.read_text()), path
