"""``checkpoint-server --help`` costs click and the CLI module, not the server's stack."""

from __future__ import annotations

import json
import subprocess
import sys

IMPORTS_OF_HELP = """
import json, sys
from server.cli import main
try:
    main(["--help"])
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "packages": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def test_help_imports_no_database_or_web_stack() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORTS_OF_HELP], capture_output=True, timeout=60, check=True)
    *help_text, last = done.stdout.decode().strip().splitlines()
    result = json.loads(last)
    assert result["code"] == 0 and any(line.strip().startswith("report") for line in help_text)
    heavy = {"sqlalchemy", "alembic", "pydantic", "fastapi", "uvicorn", "xlsxwriter", "segno"}
    assert not set(result["packages"]) & heavy
