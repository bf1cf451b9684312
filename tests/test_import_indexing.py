"""Everything an import creates is searchable when the import returns (the command and the
upload form), not only the first batch the index takes in one pass."""

from __future__ import annotations

import io
import zipfile

import pytest

from apprentice.kb import search
from tests.loop import as_person


def files(count: int) -> dict[str, str]:
    """``count`` small procedures, each with a word of its own (``uniqueNNNN``)."""
    return {f"p{n:04d}.md": f"# Procedure {n}\n\nStep uniqueword{n:04d} at the desk.\n"
            for n in range(count)}


def find(app, word: str) -> list[str]:
    with app.app_context():
        return [hit.title for hit in search.search(word, viewer_id=None,
                                                   sees_everything=True).hits]


def test_a_folder_of_1400_files_is_all_searchable_when_the_command_returns(app, tmp_path):
    folder = tmp_path / "procedures"
    folder.mkdir()
    for name, text in files(1400).items():
        (folder / name).write_text(text)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["apprentice", "import-procedures", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Created 1400," in result.output
    checked = runner.invoke(args=["apprentice", "check-index"])
    assert checked.exit_code == 0, checked.output
    assert "The search index agrees with the database." in checked.output
    assert find(app, "uniqueword1399") == ["Procedure 1399"]  # the last file of the set


@pytest.fixture
def coordinator_client(app, make_person):
    return as_person(app, make_person(name="Carmen Ortiz", roles=["coordinator"]))


def test_an_upload_of_600_files_is_all_searchable_when_the_page_answers(app,
                                                                        coordinator_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files(600).items():
            archive.writestr(name, text)
    response = coordinator_client.submit("/procedures/import", {
        "files": [(io.BytesIO(buffer.getvalue()), "many.zip")]})
    assert response.status_code == 200
    with app.app_context():
        report = search.check()
    assert report.missing == []
    assert find(app, "uniqueword0599") == ["Procedure 599"]
