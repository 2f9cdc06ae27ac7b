"""The README's answer is the newest published run of the whole question (published: in git)."""

import re
import subprocess

import pytest

from suite.read.report import index
from suite.record import results
from tests.test_readme import README, ROOT

pytestmark = pytest.mark.integration


def test_the_readme_names_the_newest_published_answer():
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "results/*.json"],
                             capture_output=True, text=True, check=True).stdout.split()
    # results/<run-id>.json only: a run's raw output beside it has JSON files too.
    runs = [results.load(ROOT / path) for path in tracked if path.count("/") == 1]
    newest = index.current(runs)
    assert newest is not None, "no published run answers the whole question"
    named = re.search(r"run \[(\d{8}T\d{6}Z-[0-9a-f]{4})\]", README.read_text())
    assert named and named.group(1) == newest.run_id, "run `make readme`"
