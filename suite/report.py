"""Markdown reports, a pure function of a results file: rendering never measures anything."""

from __future__ import annotations

from pathlib import Path

from suite import results
from suite.results import Cell, RunResult, VariantResult
from suite.stats import median

DOC_TITLES = {"small": "Small document", "large": "Large document"}


def _int(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ms(value_us: float | None) -> str:
    if value_us is None:
        return "–"
    ms = value_us / 1000
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def _bytes(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count:,} B" if count < 1024 else f"{count / 1024:.1f} KiB"


def cell_ok_rps(cell: Cell) -> float | None:
    return median([s.ok_rps for s in cell.repeats])


def cell_p99_us(cell: Cell) -> float | None:
    values = [s.latency_us["p99"] for s in cell.repeats if s.latency_us["p99"] is not None]
    return median(values)


def cell_errors(cell: Cell) -> dict[str, float]:
    """Median count per repeat for each error class."""
    if not cell.repeats:
        return {}
    classes = cell.repeats[0].errors.keys()
    return {cls: median([s.errors[cls] for s in cell.repeats]) for cls in classes}


def _not_measured(cell: Cell | None) -> str | None:
    if cell is None:
        return "–"
    if cell.status != "measured" or not cell.repeats:
        return {"failed": "failed", "skipped": "–", "pending": "not run"}.get(cell.status, "–")
    return None


def _errors_text(cell: Cell) -> str:
    errors = cell_errors(cell)
    total = sum(errors.values())
    if total == 0:
        return "0"
    parts = ", ".join(f"{cls} {count:,.0f}" for cls, count in errors.items() if count)
    return f"{total:,.0f} ({parts})"


def _table(run: RunResult, doc: str, title: str, value) -> list[str]:
    levels = run.profile.connections
    lines = [f"**{title}**", "", "| variant | " + " | ".join(f"{c:,} conn." for c in levels) + " |",
             "|---|" + "---:|" * len(levels)]
    for variant in run.variants:
        row = []
        for conns in levels:
            cell = variant.cell(doc, conns)
            row.append(_not_measured(cell) or value(cell))
        lines.append(f"| {variant.name} | " + " | ".join(row) + " |")
    return lines + [""]


def _document_section(run: RunResult, doc: str) -> list[str]:
    json_bytes = run.mongo.get("json_bytes", {}).get(doc)
    bson_bytes = run.mongo.get("bson_bytes", {}).get(doc)
    lines = [f"## {DOC_TITLES.get(doc, doc)} (`/{doc}`: {_bytes(json_bytes)} JSON, "
             f"{_bytes(bson_bytes)} BSON)", ""]
    lines += _table(run, doc, "Successful requests per second (higher is better)",
                    lambda c: _int(cell_ok_rps(c)))
    lines += _table(run, doc, "Errors per repeat (connect, read, write, timeout, HTTP status)",
                    _errors_text)
    lines += _table(run, doc, "p99 latency, ms (lower is better; timeouts excluded)",
                    lambda c: _ms(cell_p99_us(c)))
    return lines


def _settings_text(variant: VariantResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in variant.settings.items())


def _variants_section(run: RunResult) -> list[str]:
    lines = ["## Variants and settings", "",
             "| variant | server | worker model | driver | settings | status |",
             "|---|---|---|---|---|---|"]
    for v in run.variants:
        lines.append(f"| {v.name} | {v.server} | {v.worker_model} | {v.driver} | "
                     f"{_settings_text(v)} | {v.status} |")
    lines += ["", "Commands, as run:", ""]
    for v in run.variants:
        lines.append(f"- `{v.name}`: `{' '.join(v.command)}`")
    versions: dict[str, set[str]] = {}
    for v in run.variants:
        for package, version in v.packages.items():
            versions.setdefault(package, set()).add(version)
    if versions:
        lines += ["", "Package versions: " + ", ".join(
            f"{p} {'/'.join(sorted(vs))}" for p, vs in sorted(versions.items())) + "."]
    return lines + [""]


def _failures_section(run: RunResult) -> list[str]:
    failed = [v for v in run.variants if v.status in ("failed", "interrupted")]
    broken_cells = [(v, c) for v in run.variants for c in v.cells if c.status == "failed"]
    if not failed and not broken_cells:
        return []
    lines = ["## Failures", ""]
    for v in failed:
        lines.append(f"- **{v.name}** {v.status}: {v.reason}")
    for v, c in broken_cells:
        lines.append(f"- {v.name}, {c.doc} @ {c.connections:,} connections: {c.reason}")
    return lines + [""]


def _environment_section(run: RunResult) -> list[str]:
    env, mongo, wrk = run.environment, run.mongo, run.loadgen
    memory = env.get("memory_bytes")
    rows = [
        ("CPU", f"{env.get('cpu_model')} × {env.get('cpu_count')} "
                f"(affinity {env.get('cpu_affinity')})"),
        ("Memory", f"{memory / 2**30:.1f} GiB" if memory else "?"),
        ("OS / kernel", f"{env.get('os')} / {env.get('kernel')}"),
        ("Python", env.get("python")),
        ("Open files (soft/hard)", f"{env.get('nofile_soft')}/{env.get('nofile_hard')}"),
        ("somaxconn / tcp_max_syn_backlog",
         f"{env.get('somaxconn')} / {env.get('tcp_max_syn_backlog')}"),
        ("MongoDB", f"{mongo.get('version')} ({'embedded mongod' if mongo.get('embedded') else mongo.get('url')})"),
        ("Load generator", f"{wrk.get('version')}, up to {wrk.get('threads')} threads, "
                           f"--timeout {wrk.get('timeout_s')} s"),
        ("Suite", f"{env.get('suite_version')} at commit {env.get('git_commit')}"),
        ("Runtime", run.runtime),
    ]
    lines = ["## Machine and versions", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return lines + [""]


def render(run: RunResult) -> str:
    p = run.profile
    status = {"complete": "", "interrupted": " — **interrupted: partial results**",
              "running": " — **still running: partial results**",
              "failed": " — **failed: nothing measured**"}.get(run.status, f" — {run.status}")
    lines = [
        f"# Python server battle: run {run.run_id}{status}", "",
        f"Each server fetches one document from MongoDB per request. Profile **{p.name}**: "
        f"{p.duration_s:g} s per repeat, {p.repeats} repeat(s) per cell after a {p.warmup_s:g} s "
        f"warmup; wrk `--timeout {p.timeout_s:g}s`. Runtime `{run.runtime}`. "
        f"Started {run.started_at}, finished {run.finished_at or '–'}.", "",
        "How to read it: *successful requests per second* counts only responses with HTTP status "
        "below 400 (median over repeats). *Errors* are wrk's counts per repeat (median): connect, "
        "read and write are socket errors, timeout means no response within the timeout, status "
        "means HTTP 4xx/5xx. *p99* is the latency under which 99% of completed responses "
        "arrived; timed-out requests are not in it. Every server on one machine with the load "
        "generator and MongoDB: compare rows within this run, as ratios, not with other machines.",
        "",
    ]
    for doc in p.docs:
        lines += _document_section(run, doc)
    lines += _failures_section(run)
    lines += _variants_section(run)
    lines += _environment_section(run)
    lines += [f"Regenerate this report with `battle report results/{run.run_id}.json`.", ""]
    return "\n".join(lines)


def write(run: RunResult, reports_dir: Path, latest: bool = True) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    text = render(run)
    path = reports_dir / f"{run.run_id}.md"
    path.write_text(text)
    if latest:
        (reports_dir / "latest.md").write_text(text)
    return path


def write_from_file(results_path: Path, reports_dir: Path, latest: bool = True) -> Path:
    return write(results.load(results_path), reports_dir, latest)
