"""docs/profile-study.md's spread tables are what scripts/spread_study.py prints from the
published results files it names: a changed analysis or a hand-edited figure fails here."""

import importlib.util
import re

from suite import REPO_ROOT


def test_the_pages_spread_tables_are_the_scripts_output():
    spec = importlib.util.spec_from_file_location("spread_study",
                                                  REPO_ROOT / "scripts" / "spread_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (REPO_ROOT / "docs" / "profile-study.md").read_text()
    section = page[page.index("## The spread between fresh starts"):]
    named = list(dict.fromkeys(re.findall(r"results/(\d{8}T\d{6}Z-[0-9a-f]{4})\.json",
                                          section)))
    assert len(named) >= 3
    lines = module.tables([str(REPO_ROOT / "results" / f"{run}.json") for run in named])
    # The calibrated run's tables are among them.
    assert any(line.startswith("| CPU |") for line in lines)
    table_lines = [line for line in lines if line.startswith("|")]
    assert len(table_lines) > 20
    for line in table_lines:
        assert line in section, line
