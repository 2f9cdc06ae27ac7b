"""The list of runs (reports/index.md and index.html) and which run is the current answer.

Which run that is, is stated once, in docs/reading-a-report.md ("Which run is the current
answer"), and decided once, here (`answers_the_question`, `current`); reports/latest.md shows
it (`latest`). Every row of both index pages is computed by `table`, so the two pages say the
same. The README's answer block is suite.read.report.readme's; `uncovered` tells it which rows
of today's catalog the current answer lacks."""

from __future__ import annotations

import functools
import hashlib
import html as html_escape
from dataclasses import dataclass
from pathlib import Path

from suite.read import answer
from suite.read import fmt
from suite.read.report.method import machine_text, placement_words
from suite.record import catalog, results
from suite.record.profiles import Profile
from suite.record.results import RunResult, VariantResult

QUESTION_DOCS = {"small", "large"}
QUESTION_LEVELS = {200, 1000, 5000}

# The one statement of the rule, which every page about runs links to (from reports/).
GUIDE = "../docs/reading-a-report.md"
RULE = GUIDE + "#which-run-is-the-current-answer"
RULE_TEXT = "which run that is"


def answers_the_question(run: RunResult) -> bool:
    """A complete run of reads of both documents at 200, 1000 and 5000 connections with
    MongoDB as it is, of every variant (none named on its command line; no sweep or deployment
    rows): the runs whose answer is the product's. A run of chosen variants answers a narrower
    question. docs/reading-a-report.md states this rule in words; keep the two the same."""
    p = run.profile
    return (run.status == "complete" and QUESTION_DOCS <= set(p.docs)
            and QUESTION_LEVELS <= set(p.connections) and 0 in p.db_latencies_ms
            and not any(v.sweep or v.deployment for v in run.variants)
            and not named_variants(run))


def catalog_row(variant: VariantResult) -> str:
    """The catalog row a result row comes from: a sweep row's `of`; a deployment row is named
    after its row followed by " ×N nginx:strategy" (suite.measure.balancer); any other row is
    its catalog row."""
    if variant.sweep is not None:
        return variant.sweep.of
    if variant.deployment is not None:
        return variant.name.partition(" ×")[0]
    return variant.name


def named_variants(run: RunResult) -> list[str]:
    """The variants the run's command line named (`battle run A B --docs ...`, before or after
    its options), in the order given; empty: every variant of its catalog the machine could
    run. An argument is a name when it is the catalog row of one of the run's rows (a named
    variant the machine cannot run stops the run before it starts; no option's value is a
    variant's name)."""
    rows = {catalog_row(v) for v in run.variants}
    names = (catalog.row_argument(arg)[0] for arg in run.argv[2:])   # NAME@N names its row
    return list(dict.fromkeys(name for name in names if name in rows))


def current(runs: list[RunResult]) -> RunResult | None:
    """The newest run (by run id, which begins with its start time) that answers the
    question."""
    found = [r for r in runs if answers_the_question(r)]
    return max(found, key=lambda r: r.run_id, default=None)


def latest(runs: list[RunResult]) -> RunResult | None:
    """What reports/latest.md shows: the current answer; before there is one, the newest
    complete run of reads (no sweep or deployment rows), never merely the last run made."""
    now = current(runs)
    if now is not None:
        return now
    reads = [r for r in runs if r.status == "complete" and QUESTION_DOCS & set(r.profile.docs)
             and not any(v.sweep or v.deployment for v in r.variants)]
    return max(reads, key=lambda r: r.run_id, default=None)


@dataclass(frozen=True)
class Catalog:
    """Today's catalog as runs are compared with it: its rows in catalog order (GIL twins
    included) and the SHA-256 of its file, which a run's plan records of the catalog it ran
    from (`catalog_sha256`, since the plan has one)."""

    rows: tuple[str, ...]
    sha256: str | None


@functools.lru_cache(maxsize=None)
def today(path: Path = catalog.DEFAULT_CATALOG) -> Catalog:
    """servers/catalog.toml as it is now; no rows when it cannot be read (a report still
    renders: the catalog rows column then says nothing)."""
    try:
        return Catalog(tuple(catalog.load_catalog(path)),
                       hashlib.sha256(Path(path).read_bytes()).hexdigest())
    except (catalog.CatalogError, OSError):
        return Catalog((), None)


def _measured(variant: VariantResult) -> bool:
    """At least one cell measured (a row that failed at start or never got a cell has none)."""
    return any(cell.status == "measured" for cell in variant.cells)


def uncovered(run: RunResult, rows: Catalog | None = None) -> list[str]:
    """The rows of today's catalog (`rows`, servers/catalog.toml by default) that the run did
    not measure, in catalog order: rows it has no record of, and rows it has that measured no
    cell. A sweep's or a deployment's rows measure the catalog row they come from."""
    rows = rows if rows is not None else today()
    measured = {catalog_row(v) for v in run.variants if _measured(v)}
    return [name for name in rows.rows if name not in measured]


@dataclass(frozen=True)
class Coverage:
    """What a run measured of today's catalog, and what its record says about the rest."""

    total: int                     # rows of today's catalog
    lacking: tuple[str, ...]       # uncovered(run)
    absent: tuple[str, ...]        # of those, rows the run has no record of
    named: bool                    # its command line named its variants
    # Its catalog file against today's: "same" (the plan's SHA-256 is today's), "changed"
    # (another), "unrecorded" (made before plans recorded it).
    catalog: str

    def notes(self) -> list[str]:
        """The lacking rows a reader should see listed, each group with what the record says of
        it. A run that named its variants lacks every row it did not name: those are not
        listed (its report lists those it ran), only named rows that measured nothing."""
        absent = [] if self.named else list(self.absent)
        failed = [name for name in self.lacking if name not in self.absent]
        notes = []
        if absent:
            notes.append(", ".join(absent) + ": " + _ABSENT[self.catalog] + ".")
        if failed:
            notes.append(", ".join(failed) + ": in the run, no cell measured (its report's "
                         "Failures say why).")
        return notes


# Why rows of today's catalog are missing from a run of every variant, by what the run
# recorded of its catalog: a run of every variant leaves out only rows the machine or runtime
# cannot run (free-threaded builds, other toolchains, host-only rows in docker), so with the
# same catalog that is the reason; with another, the rows may not have existed then.
_ABSENT = {
    "same": "not in the run; its catalog had them (the same file as today's), so this machine "
            "or runtime could not run them",
    "changed": "not in the run; its catalog file differs from today's, so they may not have "
               "existed then (or this machine or runtime could not run them)",
    "unrecorded": "not in the run; it did not record its catalog, so they may not have existed "
                  "then (or this machine or runtime could not run them)",
}


def coverage(run: RunResult, rows: Catalog | None = None) -> Coverage:
    """What `run` measured of today's catalog (`rows`), and what its plan recorded of its own."""
    rows = rows if rows is not None else today()
    lacking = tuple(uncovered(run, rows))
    recorded = {catalog_row(v) for v in run.variants}
    sha = (run.plan or {}).get("catalog_sha256")
    return Coverage(total=len(rows.rows), lacking=lacking,
                    absent=tuple(n for n in lacking if n not in recorded),
                    named=bool(named_variants(run)),
                    catalog="unrecorded" if not sha else "same" if sha == rows.sha256
                    else "changed")


def scope(run: RunResult) -> str:
    p = run.profile
    parts = [f"{len(run.variants)} variants", "/".join(p.docs),
             "/".join(f"{c:,}" for c in p.connections)]
    if p.db_latencies_ms != (0,):
        parts.append("db " + "/".join(f"+{ms}" for ms in p.db_latencies_ms) + " ms")
    kinds = [k for k, present in (("sweep", any(v.sweep for v in run.variants)),
                                  ("nginx", any(v.deployment for v in run.variants)),
                                  ("open loop", bool(p.rates)),
                                  ("crosscheck", bool(run.crosscheck))) if present]
    return " · ".join(parts + kinds)


def as_run(profile: Profile) -> str:
    """The profile by name with what the run used of it: each repeat's length × the counted
    repeats per cell (a range where precision rounds could add some), and the timeout:
    "adaptive (5 s × 3–5, timeout 4 s)"."""
    p = profile
    count = f"{p.repeats}–{p.repeat_cap}" if p.repeat_cap > p.repeats else f"{p.repeats}"
    return f"{p.name} ({p.duration_s:g} s × {count}, timeout {p.timeout_s:g} s)"


def best(run: RunResult) -> str:
    """The run's recommendation, or the best healthy cell of its first cell when it makes none."""
    answers = answer.answers(run)
    made = answer.recommend(answers)
    if made.name:
        return (f"{made.name} (not tested against noise)" if made.confidence == "untested"
                else f"{made.name} ({made.confidence} confidence)")
    first = next((a for a in answers if a.best), None)
    if first is None:
        return "nothing healthy measured"
    return f"{first.label}: {first.best.name} {fmt.integer(first.best.summary.median_rps)} req/s"


def _old(run: RunResult) -> bool:
    """Made before the suite undid wrk's correction and counted lost and wrong bodies."""
    classes = run.loadgen.get("failure_classes", [])
    return not ("lost" in classes and run.loadgen.get("body_check"))


def bests(runs: list[RunResult]) -> dict[str, str]:
    """Each run's best deployable (`best`), computed once for both index pages."""
    return {run.run_id: best(run) for run in runs}


COLUMNS = ("run", "date", "machine", "runtime, placement", "profile as run", "scope",
           "catalog rows", "best deployable", "status")
OLD_MARK = "¹"
OLD_NOTE = ("Made before results schema v4: latency includes wrk's synthetic coordinated-omission "
            "samples, late responses counted as successes, lost requests and wrong bodies not "
            "counted. Their reports were left as made.")


@dataclass(frozen=True)
class Row:
    """One run's line of the index, as plain text: both pages render these values."""

    run_id: str
    linked: bool                   # its report exists
    old: bool                      # made before results schema v4 (OLD_NOTE)
    current: bool                  # the current answer
    cells: tuple[str, ...]         # COLUMNS after "run"


@dataclass(frozen=True)
class Table:
    """Both index pages' content: the current answer, a row per run (newest first), the notes
    that list the catalog rows runs lack ("(a) names: why"), and whether OLD_NOTE applies."""

    current: str | None
    catalog_rows: int
    rows: tuple[Row, ...]
    notes: tuple[str, ...]
    old: bool


def _letter(i: int) -> str:
    """a, b, ..., z, aa, ab, ...: the key of the i-th note."""
    return (_letter(i // 26 - 1) if i >= 26 else "") + chr(ord("a") + i % 26)


def rows_text(cover: Coverage, keys: list[str]) -> str:
    """The catalog rows cell: "all 28", or "20 of 28" ("4 of 28, named" when the command line
    chose them) with the keys of the notes that list what it lacks: "20 of 28 (a)"."""
    if not cover.total:
        return "–"
    if not cover.lacking:
        return f"all {cover.total}"
    text = f"{cover.total - len(cover.lacking)} of {cover.total}" + (", named" if cover.named
                                                                      else "")
    return text + "".join(f" ({key})" for key in keys)


def table(runs: list[RunResult], rendered: set[str] | frozenset[str] = frozenset(),
          best_of: dict[str, str] | None = None, rows: Catalog | None = None) -> Table:
    """Every value both index pages show, computed once."""
    now = current(runs)
    best_of = best_of if best_of is not None else bests(runs)
    rows = rows if rows is not None else today()
    notes: dict[str, str] = {}          # note text -> its key, in order of first use
    lines = []
    for run in sorted(runs, key=lambda r: r.run_id, reverse=True):
        cover = coverage(run, rows)
        keys = [notes.setdefault(note, _letter(len(notes))) for note in cover.notes()]
        lines.append(Row(run_id=run.run_id, linked=run.run_id in rendered, old=_old(run),
                         current=run is now, cells=(
                             run.started_at[:10], machine_text(run),
                             f"{run.runtime}, {placement_words(run)}", as_run(run.profile),
                             scope(run), rows_text(cover, keys), best_of[run.run_id],
                             run.status)))
    return Table(current=now.run_id if now else None, catalog_rows=len(rows.rows),
                 rows=tuple(lines), notes=tuple(f"({key}) {text}" for text, key in notes.items()),
                 old=any(line.old for line in lines))


def _columns_line(t: Table) -> str:
    """What the two columns that are not self-explanatory hold (the same words on both pages)."""
    return (f"Profile as run: the profile's name, each repeat's length × the counted repeats "
            f"per cell, and the timeout. Catalog rows: how many of the {t.catalog_rows} rows of "
            "today's catalog (servers/catalog.toml) the run measured; a letter points to the "
            "note below the table that lists the rows it lacks.")


def render_index(runs: list[RunResult], rendered: set[str] | frozenset[str] = frozenset(),
                 best_of: dict[str, str] | None = None, rows: Catalog | None = None) -> str:
    """One compact line per run, newest first; a run links to its report when it exists."""
    t = table(runs, rendered, best_of, rows)
    lines = ["# Runs", "",
             f"Newest first. **The current answer** ([{RULE_TEXT}]({RULE}))"
             + (f": [{t.current}]({t.current}.md)." if t.current else ": there is none yet."),
             f"How to read a report: [the guide]({GUIDE}).", "", _columns_line(t), "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in t.rows:
        name = (f"[{row.run_id}]({row.run_id}.md)" if row.linked
                else f"{row.run_id} (no report: `battle report`)")
        name += (OLD_MARK if row.old else "") + (" **current answer**" if row.current else "")
        lines.append("| " + " | ".join((name, *row.cells)) + " |")
    for note in t.notes:
        lines += ["", note]
    if t.old:
        lines += ["", f"{OLD_MARK} {OLD_NOTE}"]
    return "\n".join(lines) + "\n"


def render_index_html(runs: list[RunResult], rendered: set[str],
                      best_of: dict[str, str] | None = None, rows: Catalog | None = None) -> str:
    """index.md's content as a page: the same table, the same notes."""
    t = table(runs, rendered, best_of, rows)
    e = html_escape.escape
    body = []
    for row in t.rows:
        link = (f'<a href="{e(row.run_id)}.html">{e(row.run_id)}</a>' if row.linked
                else e(row.run_id))
        link += (OLD_MARK if row.old else "") + (
            " <strong>current answer</strong>" if row.current else "")
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in
                                     (link, *(e(c) for c in row.cells))) + "</tr>")
    intro = (f'Newest first. <strong>The current answer</strong> (<a href="{RULE}">{RULE_TEXT}'
             "</a>)" + (f': <a href="{e(t.current)}.html">{e(t.current)}</a>.' if t.current
                        else ": there is none yet.")
             + f' How to read a report: <a href="{GUIDE}">the guide</a>.')
    columns = e(_columns_line(t))
    notes = "".join(f"<p>{e(note)}</p>" for note in t.notes)
    old = f"<p>{OLD_MARK} {e(OLD_NOTE)}</p>" if t.old else ""
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Runs</title>"
            "<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
            "td:nth-child(2){white-space:nowrap}"
            f"</style></head><body><h1>Runs</h1><p>{intro}</p><p>{columns}</p><table><thead><tr>"
            + "".join(f"<th>{e(c)}</th>" for c in COLUMNS) + "</tr></thead><tbody>"
            + "".join(body) + f"</tbody></table>{notes}{old}</body></html>\n")


def load_runs(results_dir: Path) -> list[RunResult]:
    """Every readable results file of a directory (unreadable ones are skipped)."""
    runs = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            runs.append(results.load(path))
        except results.ResultsError:
            continue
    return runs


def write_index(results_dir: Path, reports_dir: Path) -> Path:
    """reports/index.md and index.html over every readable results file, and latest.md as a
    copy of the current answer's report (when it has been rendered)."""
    runs = load_runs(results_dir)
    index = reports_dir / "index.md"
    best_of = bests(runs)
    rendered = {path.stem for path in reports_dir.glob("*.md")}
    index.write_text(render_index(runs, rendered, best_of))
    pages = {path.stem for path in reports_dir.glob("*.html")}
    (reports_dir / "index.html").write_text(render_index_html(runs, pages, best_of))
    shown = latest(runs)
    if shown is not None and (reports_dir / f"{shown.run_id}.md").exists():
        (reports_dir / "latest.md").write_text((reports_dir / f"{shown.run_id}.md").read_text())
    return index
