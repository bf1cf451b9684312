"""Every CSV the app writes keeps spreadsheet formulas from running (apprentice.csvsafe):
a framework exported as CSV, through the page and the command line, and read back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from apprentice.competencies import services as frameworks
from apprentice.competencies.interchange import (
    AreaSpec,
    CompetencySpec,
    FrameworkSpec,
    read_csv,
    write_csv,
)
from apprentice.competencies.models import AreaKind
from apprentice.csvsafe import from_spreadsheet, safe_row, spreadsheet_safe

APP = Path(__file__).parents[1] / "apprentice"
EVIL = '=HYPERLINK("http://evil.example","Click for your certificate")'
DASHED = "-- see the circulation manual first"


def hostile_spec(name: str = "Hostile") -> FrameworkSpec:
    return FrameworkSpec(name=name, areas=[
        AreaSpec("@Desk", AreaKind.REQUIRED, DASHED, None,
                 [CompetencySpec("D-1", EVIL), CompetencySpec("D-2", "+1 for every patron"),
                  CompetencySpec("D-3", "'Tis the season: decorates the desk.")]),
    ])


@pytest.fixture
def hostile(app):
    with app.app_context():
        return frameworks.create_from_spec(hostile_spec())


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_exported_csv_has_no_cell_a_spreadsheet_would_run(app, hostile, coordinator,
                                                               login_as):
    response = login_as(coordinator).get(f"/frameworks/{hostile.id}/export.csv")
    assert response.status_code == 200
    [first, second, third] = rows(response.get_data(as_text=True))
    assert first["statement"] == "'" + EVIL
    assert first["area"] == "'@Desk" and first["area_description"] == "'" + DASHED
    assert second["statement"] == "'+1 for every patron"
    assert third["statement"] == "'Tis the season: decorates the desk."  # text, as it was
    assert first["code"] == "D-1" and first["required"] == "required"
    every_cell = [cell for row in rows(response.get_data(as_text=True)) for cell in row.values()]
    assert not [cell for cell in every_cell if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_the_command_line_export_is_safe_too(app, hostile):
    result = app.test_cli_runner().invoke(
        args=["apprentice", "export-framework", "Hostile", "--format", "csv"])
    assert result.exit_code == 0, result.output
    [first, *_] = rows(result.output)
    assert first["statement"] == "'" + EVIL


def test_an_exported_csv_imported_again_gives_back_what_was_typed(app, hostile, coordinator,
                                                                  login_as):
    client = login_as(coordinator)
    exported = client.get(f"/frameworks/{hostile.id}/export.csv").get_data()
    response = client.submit("/frameworks/import", {
        "file": (io.BytesIO(exported), "copy.csv"), "name": "Hostile again",
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        [copy] = [f for f in frameworks.list_frameworks(include_unpublished=True)
                  if f.name == "Hostile again"]
        [area] = frameworks.get_framework(copy.id).current_areas
        assert (area.name, area.description) == ("@Desk", DASHED)
        assert [c.statement for c in area.current_competencies] == [
            EVIL, "+1 for every patron", "'Tis the season: decorates the desk."]


def test_the_round_trip_holds_in_the_file_format_itself():
    spec = hostile_spec()
    assert read_csv(write_csv(spec), spec.name).areas == spec.areas


@pytest.mark.parametrize(("cell", "typed"), [
    pytest.param("'=1+1", "=1+1", id="equals"), pytest.param("'-1", "-1", id="minus"),
    pytest.param("'@SUM(A1)", "@SUM(A1)", id="at"), pytest.param("'+1", "+1", id="plus"),
    pytest.param("'Tis", "'Tis", id="an apostrophe before text stays"),
    pytest.param("''=1", "'=1", id="two apostrophes: only the export's one is ours"),
    pytest.param("=1", "=1", id="a cell typed without it"),
    pytest.param("", "", id="empty"),
])
def test_from_spreadsheet_takes_off_only_the_apostrophe_the_export_added(cell, typed):
    assert from_spreadsheet(cell) == typed


def test_from_spreadsheet_undoes_spreadsheet_safe():
    for text in ("=1", "+1", "-1", "@1", "\t=1", "\r=1", "plain", "'quoted", "'=1"):
        assert from_spreadsheet(spreadsheet_safe(text)) == text
    assert safe_row(["=1", 7, None, "ok", "'=1"]) == ["'=1", 7, None, "ok", "''=1"]


def test_every_module_that_writes_csv_uses_the_shared_safety():
    writers = [path for path in APP.rglob("*.py")
               if "csv.writer" in path.read_text() or "DictWriter" in path.read_text()]
    assert writers  # the audit trail and the framework files at least
    unsafe = [str(path.relative_to(APP)) for path in writers
              if "safe_row" not in path.read_text()]
    assert unsafe == []
