"""What a resume refuses: another machine, other code, another catalog, another plan."""

from suite.measure import resume
from suite.record.results import RunResult, VariantResult

MACHINE = {"cpu_model": "AMD EPYC", "cpu_count": 2, "memory_bytes": 24 * 2**30,
           "kernel": "6.1.0", "python": "3.11.7", "git_commit": "abc123", "git_dirty": False,
           "git_diff_sha256": None, "hostname": "one", "load_average": [0.1, 0.2, 0.3]}


def test_the_same_machine_and_code_may_resume_whatever_else_changed():
    later = {**MACHINE, "hostname": "two", "load_average": [1.5, 1.0, 0.5]}
    assert resume.environment_differences(MACHINE, later) == []


def test_another_cpu_or_commit_is_named():
    later = {**MACHINE, "cpu_model": "Intel Xeon", "git_commit": "def456"}
    assert resume.environment_differences(MACHINE, later) == [
        "cpu_model 'AMD EPYC' -> 'Intel Xeon'", "git_commit 'abc123' -> 'def456'"]
    dirty = {**MACHINE, "git_dirty": True, "git_diff_sha256": "f00"}
    assert resume.environment_differences(MACHINE, dirty) == [
        "git_dirty False -> True", "git_diff_sha256 None -> 'f00'"]


def _run() -> RunResult:
    record = VariantResult("v", "app", "server", "model", "driver", "why",
                           {"workers": 2, "threads": 32}, ["srv", "--port", "1234"],
                           {"gunicorn": "27.0.0"})
    return RunResult(run_id="r", started_at="t", profile=None, runtime="local", argv=[],
                     environment=MACHINE, mongo=None, loadgen={}, variants=[record])


def test_a_changed_setting_or_package_is_named():
    run = _run()
    same = {"v": {"settings": {"workers": 2, "threads": 32}, "packages": {"gunicorn": "27.0.0"}}}
    assert resume.variant_differences(run, same) == []
    changed = {"v": {"settings": {"workers": 1, "threads": 32, "backlog": 64},
                     "packages": {"gunicorn": "27.1.0"}}}
    assert resume.variant_differences(run, changed) == [
        "v settings workers 2 -> 1, backlog None -> 64", "v packages gunicorn 27.0.0 -> 27.1.0"]
    assert resume.variant_differences(run, {}) == ["v is no longer in the catalog"]


def test_another_plan_is_named():
    recorded = {"variants": ["v"], "cells": ["small@200"], "rounds": 3, "counted_repeats": 3,
                "crosscheck": False, "catalog_sha256": "aa"}
    assert resume.plan_differences(recorded, dict(recorded)) == []
    assert resume.plan_differences(recorded, {**recorded, "catalog_sha256": "bb"}) == [
        "catalog_sha256 'aa' -> 'bb'"]
    assert resume.plan_differences(None, recorded) == [
        "the run recorded no plan (made by an older suite)"]
