"""The tree passes the project's linters exactly as the style guide asks: ``ruff check`` and
``ruff format --check`` with the settings in pyproject.toml (CI runs them through this test)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff(args):
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it comes with the dev extra: pip install -e '.[dev]')")
    proc = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"ruff {' '.join(args)} found problems:\n{proc.stdout}{proc.stderr}"
    print(f"ruff {' '.join(args)}: clean")
