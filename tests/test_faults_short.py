"""The fault campaign's short form (faults/, docs/reliability.md) as CI runs it.

Real kiosk processes killed and power-cut at random instants while scans arrive through a
pty and the background sync delivers to a real server; the runner's own verdict decides:
it exits non-zero for any lost, doubled or corrupt figure, for found ≠ acknowledged, and
when the negative control (synchronous=OFF) loses nothing. Needs root (FUSE mounts, and
``runuser`` to start the private PostgreSQL cluster as ``postgres``), FUSE 3 and PostgreSQL's
binaries (apt fuse3 and postgresql, which ``./setup.sh --dev`` installs): without them it
fails, never skips. Under two minutes on idle cores, about six on busy shared ones.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from faults.__main__ import FORMS
from tests.test_architecture import REPO

ROW = re.compile(r"^\| (.+?) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| .+ \|$", re.M)


@pytest.mark.timeout(900)
def test_short_campaign_loses_doubles_and_corrupts_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "faults", "--short"], cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    rows = {m[1]: [int(x) for x in m.groups()[1:]] for m in ROW.finditer(done.stdout)}
    assert done.returncode == 0 and "all passed" in done.stdout, done.stdout + done.stderr[-4000:]
    assert len(rows) == len(FORMS["short"]), done.stdout
    for scenario, (trials, acknowledged, found, lost, doubled, corrupt) in rows.items():
        assert trials > 0 and acknowledged > 0, scenario
        if scenario.startswith("negative control"):
            assert lost > 0, "synchronous=OFF lost nothing: the power cut does not cut"
        else:
            assert (found, lost, doubled, corrupt) == (acknowledged, 0, 0, 0), scenario
