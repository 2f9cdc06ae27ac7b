"""The Lua side of the wrk script, run by the wrk binary the suite uses (its own LuaJIT)."""

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration   # runs the real wrk binary
SCRIPT = Path(__file__).parent / "wrk" / "test_histogram.lua"


def test_wrk_correction_is_undone_exactly():
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.fail("wrk is not installed: `make setup` installs it")
    # The script checks everything while wrk loads it and exits before connecting anywhere.
    done = subprocess.run([wrk, "-s", str(SCRIPT), "http://127.0.0.1:9/"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("ok "), done.stdout + done.stderr
