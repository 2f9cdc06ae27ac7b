"""How numbers and names read in a report (and in the charts and the HTML page)."""

from __future__ import annotations

from suite.record import documents
from suite.read.analysis import CellSummary
from suite.record.documents import doc_title

HEALTHY_MARK = "✗"      # an unhealthy cell: shown with its failed share, never ranked


def integer(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def size(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count:,} B" if count < 1024 else f"{count / 1024:.1f} KiB"


def share(value: float | None) -> str:
    """A failed share: 0, 0.02%, 3.1%, 81.5%."""
    if value is None:
        return "–"
    if value == 0:
        return "0"
    return f"{value:.2%}" if value < 0.001 else f"{value:.1%}"


def failed(health) -> str:
    """How an unhealthy cell is marked (suite.record.health): its pooled failed share and,
    where one repeat failed more than the threshold and the pool, that repeat's:
    "1.4% failed (one repeat 6.7%)"; "not measured" without repeats."""
    if health is None:
        return "not measured"
    return (f"{share(health.pooled)} failed"
            + (f" (one repeat {share(health.worst)})"
               if health.worst > health.pooled and health.worst > health.limit else ""))


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def cores(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def mib(value: int | None) -> str:
    return "–" if value is None else f"{value / 2**20:,.0f}"


def minutes(seconds: float) -> str:
    total = round(seconds / 60)
    return f"{total // 60} h {total % 60:02d} min" if total >= 60 else f"{total} min"


def chart_key(kind: str, doc: str, latency_ms: int = 0) -> str:
    """The chart's name ("throughput-small", "throughput-small-db5ms"), as suite.read.charts saves
    it."""
    return f"{kind}-{doc}" + (f"-db{latency_ms}ms" if latency_ms else "")


def section_title(doc: str, latency_ms: int) -> str:
    return doc_title(doc) + (f", database +{latency_ms} ms" if latency_ms else "")


def where(latency_ms: int) -> str:
    return f", database +{latency_ms} ms" if latency_ms else ""


def cell_label(doc: str, connections: int, latency_ms: int = 0) -> str:
    return f"{doc}@{connections:,}" + (f"+{latency_ms}ms" if latency_ms else "")


def failures(s: CellSummary) -> str:
    """One real repeat's failures: the median repeat by failed share, its classes."""
    if s.error_rate is None:
        return "–"
    parts = ", ".join(f"{cls} {count:,.0f}" for cls, count in s.errors.items() if count)
    text = f"{share(s.error_rate)} ({parts})" if parts else "0"
    if s.worst_differs:
        text += f"; worst repeat {share(s.error_rate_max)}"
    elif not parts and s.error_rate_max:
        text += f" (a repeat: {share(s.error_rate_max)})"
    return text + (f" [not counted: {', '.join(s.uncounted)}]" if s.uncounted else "")


def rps(s: CellSummary, healthy: bool) -> str:
    """Median successful req/s, min–max over repeats where there are several; an unhealthy
    cell marked, with its failed share."""
    text = integer(s.median_rps)
    if s.n > 1:
        text += f" ({integer(s.min_rps)}–{integer(s.max_rps)})"
    if s.unstable:
        text += " ⚠"
    if not healthy:
        text = f"{HEALTHY_MARK} {text}, {failed(s.health)}"
    return text


def latency(s: CellSummary) -> str:
    if s.latency_ms.get("p50") is None and s.latency_unmeasured:
        return "not measured"
    return " / ".join(ms(s.latency_ms.get(k)) for k in ("p50", "p99", "p99.9"))


def document_heading(run, doc: str, latency_ms: int) -> str:
    if doc == documents.WRITE:
        concerns = sorted({str(v.settings.get("write_concern")) for v in run.variants})
        return (f"## {section_title(doc, latency_ms)} (`POST {documents.WRITE_PATH}`: about "
                f"{size(len(documents.WRITE_BODY_EXAMPLE))} of JSON per request; write concern "
                f"w={'/'.join(concerns)})")
    return (f"## {section_title(doc, latency_ms)} (`/{doc}`: {size(run.mongo.json_bytes.get(doc))}"
            f" JSON, {size(run.mongo.bson_bytes.get(doc))} BSON)")


def interpreter_build(build: dict | None) -> str:
    """"CPython 3.13.15, PGO + LTO, shared libpython" / "CPython 3.11.7, no PGO, no LTO, ..."."""
    if not build:
        return "build not recorded"
    if build.get("toolchain"):   # a reference row's (suite.measure.toolchains)
        return build.get("describe") or f"{build.get('implementation')} {build.get('version')}"
    flags = " + ".join(k.upper() for k in ("pgo", "lto") if build.get(k)) or "no PGO, no LTO"
    return (f"{build.get('implementation', 'Python')} {build.get('version', '?')}"
            + ("t (free-threaded)" if build.get("gil_disabled") else "") + f", {flags}, "
            + ("shared libpython" if build.get("shared_libpython") else "libpython linked in"))
