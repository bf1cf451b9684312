"""The built wheel works on its own: templates and migrations ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import apprentice, pathlib, sys
from apprentice import create_app
location = pathlib.Path(apprentice.__file__).resolve()
assert "site-packages" in str(location), location
app = create_app()
client = app.test_client()
page = client.get("/sign-in")
assert page.status_code == 200, page.status_code
assert "Sign in" in page.get_data(as_text=True)
with client.get("/assets/apprentice.css") as css:
    assert css.status_code == 200
print("rendered sign-in from", location.parent)
"""


def run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_installs_migrates_and_renders_outside_the_source_tree(tmp_path):
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT))
    (wheel,) = dist.glob("apprentice-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "apprentice/templates/apprentice/base.html" in names
    assert "apprentice/migrations/env.py" in names
    assert any(n.startswith("apprentice/migrations/versions/0001_") for n in names)
    assert "apprentice/static/apprentice.css" in names
    assert "apprentice/competencies/data/lssc.json" in names
    assert "apprentice/kb/data/glossary.txt" in names
    assert "apprentice/portfolios/schema/portfolio-v1.schema.json" in names
    assert "apprentice/credentials/schema/ob_v3p0_achievementcredential_schema.json" in names
    assert "apprentice/static/portfolio-print.css" in names
    assert any(n.startswith("apprentice/kb/data/demo_procedures/") for n in names)
    assert not any(n.startswith(("tests/", "examples/")) for n in names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("APPRENTICE_", "PYTHON", "FLASK_", "VIRTUAL_ENV"))
    }
    env["APPRENTICE_INSTANCE_PATH"] = str(tmp_path / "instance")
    upgraded = run(str(venv / "bin" / "flask"), "--app", "apprentice:create_app",
                   "apprentice", "db", "upgrade", cwd=elsewhere, env=env)
    assert "Database at" in upgraded.stdout
    rendered = run(str(venv / "bin" / "python"), "-c", CHECK, cwd=elsewhere, env=env)
    assert str(venv) in rendered.stdout
