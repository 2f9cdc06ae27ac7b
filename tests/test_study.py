"""The 2014 study as data, and the report section that puts a run next to it."""

import copy

import pytest

from suite.read import report, study
from suite.record import results, stats
from tests.conftest import FIXTURES


def run_v5(healthy: bool = True):
    # flask-gunicorn-gevent, tornado-motor and flask-uwsgi-gevent at 200 connections, small and
    # large, with the database 0 and 2 ms away. `healthy`: every failure cleared, so every cell
    # gives a ratio (the fixture's reference failed 7.8% at small@200).
    run = results.load(FIXTURES / "results-v5.json")
    if healthy:
        for v in run.variants:
            for cell in v.cells:
                for sample in cell.repeats:
                    sample.errors = {key: 0 for key in sample.errors}
    return run


def test_an_unhealthy_side_gives_no_ratio_and_no_ordering():
    """The reference (the denominator) or the stack failed more than the threshold: no ratio,
    no ordering, and the section says which side and how much."""
    run, data = run_v5(healthy=False), study.load()
    points = study.points(run, data)
    at200 = [p for p in points if (p.doc, p.connections) == ("small", 200) and p.now_rps]
    assert at200 and all(p.now_ratio is None and "gunicorn + gevent 7.8% failed" in p.unhealthy
                         for p in at200)
    assert not [o for o in study.orderings(points)
                if (o.faster.doc, o.faster.connections) == ("small", 200)]
    from suite.read.report import study as section
    from suite.read.report.view import View
    assert "✗ unhealthy today, so neither a ratio nor an ordering: gunicorn + gevent 7.8% " \
        in "\n".join(section.section(View.of(run)))


def test_the_study_figures_are_the_published_ones():
    data = study.load()
    by_title = {s.title: s for s in data.stacks}
    assert data.reference.variant == "flask-gunicorn-gevent"
    assert by_title["uWSGI threaded"].rps["small"] == {200: 823.69, 1000: 784.29, 5000: 851.37}
    assert by_title["Tornado + Motor"].rps["large"] == {200: 842.10, 1000: 857.27}
    assert 5000 not in by_title["gunicorn + gevent"].rps["large"]   # never published
    assert {s.variant for s in data.stacks if s.python} == {
        "flask-uwsgi-threads", "flask-uwsgi-gevent", "flask-gunicorn-gevent", "tornado-motor"}
    # The study's other languages, small document only, as published.
    assert by_title["Node.js (cluster)"].rps == {"small": {200: 2919.74, 1000: 2810.50,
                                                           5000: 2365.01}}
    assert by_title["Play! + ReactiveMongo"].rps["small"][5000] == 5914.00
    assert by_title["Play! + ReactiveMongo"].variant == "jvm-netty"
    assert "hervedev.blogspot.com" in data.source["where"]


def test_ratios_then_and_now_come_from_the_figures():
    run, data = run_v5(), study.load()
    points = study.points(run, data, 0)
    tornado = next(p for p in points if p.stack.variant == "tornado-motor"
                   and p.doc == "small" and p.connections == 200)
    assert tornado.then_ratio == pytest.approx(2891.78 / 2678.43)
    ok = [stats.median([s.ok_rps for s in run.variant(name).cell("small", 200).repeats])
          for name in ("tornado-motor", "flask-gunicorn-gevent")]
    assert tornado.now_rps == ok[0] and tornado.now_ratio == pytest.approx(ok[0] / ok[1])
    # Cells the run did not measure have no figure of today.
    assert next(p for p in points if p.connections == 1000).now_ratio is None


def test_orderings_say_which_held_and_which_flipped():
    run, data = run_v5(), study.load()
    orderings = study.orderings(study.points(run, data, 0))
    # Three stacks measured in two cells: three pairs per cell.
    assert len(orderings) == 6
    for o in orderings:
        assert o.faster.then_rps >= o.slower.then_rps
        assert o.held == (o.faster.now_rps > o.slower.now_rps)
    # Make tornado-motor far slower than gunicorn+gevent in every repeat: a flip beyond noise.
    slow = copy.deepcopy(run)
    for sample, factor in zip(slow.variant("tornado-motor").cell("small", 200).repeats,
                              (0.30, 0.31)):
        sample.requests = int(sample.requests * factor)
    flipped = [o for o in study.orderings(study.points(slow, data, 0))
               if o.faster.stack.variant == "tornado-motor"
               and o.slower.stack.variant == "flask-gunicorn-gevent" and o.faster.doc == "small"]
    assert len(flipped) == 1 and not flipped[0].held


def test_the_section_renders_from_a_results_file_and_only_when_it_applies():
    run = run_v5()
    text = report.render(run)
    section = text.split("## Side by side with 2014")[1].split("\n## ")[0]
    data = study.load()
    tornado = next(p for p in study.points(run, data, 0) if p.stack.variant == "tornado-motor"
                   and p.doc == "small" and p.connections == 200)
    assert f"{tornado.then_ratio:.2f}× → {tornado.now_ratio:.2f}×" in section
    assert "database +2 ms" in section and "orderings the study showed" in section
    # Without the reference stack there is nothing to put side by side.
    run.variants = [v for v in run.variants if v.name != "flask-gunicorn-gevent"]
    assert "Side by side with 2014" not in report.render(run)


def test_python_against_node_then_and_now():
    """The Node.js row's req/s over the best of the study's Python rows in the same cell, as
    the study published it and as this run measured it; the section says both."""
    run, data = run_v5(), study.load()
    node = copy.deepcopy(run.variant("tornado-motor"))
    node.name, node.classification, node.build = "node-cluster", "reference", "node"
    for sample in node.cell("small", 200).repeats:
        sample.requests *= 2
    run.variants.append(node)
    rows = study.beyond_python(study.points(run, data, 0))
    at200 = next(r for r in rows if r.stack.variant == "node-cluster" and r.connections == 200)
    assert at200.then_ratio == pytest.approx(2919.74 / 2891.78) and \
        at200.then_python == "Tornado + Motor"
    best = max(stats.median([s.ok_rps for s in run.variant(n).cell("small", 200).repeats])
               for n in ("tornado-motor", "flask-gunicorn-gevent", "flask-uwsgi-gevent")
               if run.variant(n) and run.variant(n).cell("small", 200))
    now = stats.median([s.ok_rps for s in node.cell("small", 200).repeats])
    assert at200.now_ratio == pytest.approx(now / best)
    assert next(r for r in rows if r.stack.variant == "jvm-netty").now_ratio is None
    section = report.render(run).split("## Side by side with 2014")[1].split("\n## ")[0]
    assert "Python against the study's other languages" in section
    assert f"| Node.js (cluster) (`node-cluster`) | small@200 | {at200.then_ratio:.2f}×" in section
