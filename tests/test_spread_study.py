"""docs/profile-study.md's spread tables are what scripts/spread_study.py prints from the
published results files it names: a changed analysis or a hand-edited figure fails here."""

import importlib.util
import re

from suite import REPO_ROOT


RUN = r"results/(\d{8}T\d{6}Z-[0-9a-f]{4})\.json"


def _script():
    spec = importlib.util.spec_from_file_location("spread_study",
                                                  REPO_ROOT / "scripts" / "spread_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _section() -> str:
    page = (REPO_ROOT / "docs" / "profile-study.md").read_text()
    return page[page.index("## The spread between fresh starts"):]


def test_the_pages_spread_tables_are_the_scripts_output():
    module = _script()
    section = _section()
    # The runs of the commands the page quotes for each run's own tables (the side-by-side
    # commands are the next test's).
    own = " ".join(re.findall(r"`python scripts/spread_study.py (?!--side-by-side)([^`]*)`",
                              section))
    named = list(dict.fromkeys(re.findall(RUN, own)))
    assert len(named) >= 3
    lines = module.tables([str(REPO_ROOT / "results" / f"{run}.json") for run in named])
    # The calibrated run's tables are among them.
    assert any(line.startswith("| CPU |") for line in lines)
    table_lines = [line for line in lines if line.startswith("|")]
    assert len(table_lines) > 20
    for line in table_lines:
        assert line in section, line


def test_the_pages_side_by_side_tables_are_the_scripts_output():
    """Each `spread_study.py --side-by-side RUN ...` command the page quotes is followed by the
    table it prints from those runs."""
    module = _script()
    section = _section()
    commands = re.findall(r"`python scripts/spread_study.py --side-by-side([^`]*)`", section)
    assert commands
    for command in commands:
        runs = [module.results.load(REPO_ROOT / "results" / f"{run}.json")
                for run in re.findall(RUN, command)]
        assert len(runs) >= 2
        lines = module.conditions_table(runs)
        assert len([line for line in lines if line.startswith("| 2")]) == len(runs)
        for line in lines:
            assert line in section, line
