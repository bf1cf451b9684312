"""Importing uploaded procedures: coordinators only, the same import as a folder (again:
updates, no duplicates), zips checked for escaping paths and bombs, every refusal told."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from apprentice.db import db_session
from apprentice.kb import importer
from apprentice.kb.models import Procedure
from apprentice.people.services import get_person
from apprentice.validation import Invalid
from tests.loop import as_person
from tests.test_kb_rendering import problems_in

HOLDS = b"---\ntags: [holds]\n---\n# Placing holds\n\nSteps.\n"
RENEWALS = b"# Renewals\n\nRenew at the desk.\n"


@pytest.fixture
def cast(make_person):
    return {"coordinator": make_person(name="Carmen Ortiz", roles=["coordinator"]),
            "mentor": make_person(roles=["mentor"]), "apprentice": make_person()}


@pytest.fixture
def client(app, cast):
    return as_person(app, cast["coordinator"])


def upload(client, *files):
    return client.submit("/procedures/import", {
        "files": [(io.BytesIO(data), name) for name, data in files]})


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def report_of(response) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    return page.split('id="import-report"')[1].split("</section>")[0]


def procedures(app) -> dict[str, str]:
    with app.app_context():
        return {p.source_key: p.title for p in db_session().scalars(select(Procedure))}


def test_two_files_create_two_and_uploading_again_updates(app, client):
    report = report_of(upload(client, ("holds.md", HOLDS), ("renewals.md", RENEWALS)))
    assert "2 created, 0 updated, 0 skipped" in report
    assert procedures(app) == {"import:holds.md": "Placing holds",
                               "import:renewals.md": "Renewals"}
    report = report_of(upload(client, ("holds.md", HOLDS),
                              ("renewals.md", RENEWALS.replace(b"desk", b"kiosk"))))
    assert "0 created, 1 updated, 1 skipped" in report
    assert "holds.md: unchanged since it was last imported" in report
    assert len(procedures(app)) == 2
    with app.app_context():
        renewals = db_session().scalar(select(Procedure).where(
            Procedure.source_key == "import:renewals.md"))
        assert "kiosk" in renewals.body and renewals.revision_number == 2
        assert renewals.status == "published"


def test_an_upload_and_a_folder_import_of_the_same_files_are_one_procedure(app, client,
                                                                           tmp_path):
    upload(client, ("shelving notes.txt", b"Shelve by call number.\n"),
           ("lib.zip", zipped({"desk/opening.md": b"# Opening\n\nUnlock.\n"})))
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "opening.md").write_bytes(b"# Opening\n\nUnlock.\n")
    (tmp_path / "shelving notes.txt").write_bytes(b"Shelve by call number.\n")
    with app.app_context():
        again = importer.import_folder(tmp_path)
    assert again.created == [] and sorted(again.skipped) == ["desk/opening.md",
                                                            "shelving notes.txt"]
    assert procedures(app) == {"import:shelving notes.txt": "Shelving notes",
                               "import:desk/opening.md": "Opening"}


def test_a_zip_of_files_imports_them_with_their_paths(app, client):
    archive = zipped({"holds.md": HOLDS, "./desk//renewals.md": RENEWALS,
                      "__MACOSX/._holds.md": b"\x00\x05", ".DS_Store": b"\x00",
                      "pictures/map.png": b"\x89PNG", "inner.zip": zipped({"x.md": b"x"})})
    report = report_of(upload(client, ("procedures.zip", archive)))
    assert "2 created" in report
    assert "pictures/map.png: not a Markdown, HTML or text file" in report
    assert "inner.zip: a zip inside a zip is not opened" in report
    assert "MACOSX" not in report and "DS_Store" not in report
    assert set(procedures(app)) == {"import:holds.md", "import:desk/renewals.md"}


@pytest.mark.parametrize("evil", ["../evil.md", "docs/../../evil.md", "/etc/evil.md",
                                  "C:/evil.md", "..\\evil.md"])
def test_a_zip_with_a_path_leaving_its_folder_is_refused_whole(app, client, evil):
    report = report_of(upload(client, ("bad.zip", zipped({"fine.md": HOLDS, evil: b"# x\n"}))))
    assert "bad.zip: refused, nothing in it was imported:" in report
    assert "would be unpacked outside its folder" in report
    assert procedures(app) == {}


def test_the_import_service_refuses_an_escaping_zip_whole(app, cast):
    archive = zipped({"fine.md": HOLDS, "docs/../../evil.md": b"# x\n"})
    with app.app_context():
        report = importer.import_uploads([("bad.zip", io.BytesIO(archive))],
                                         get_person(cast["coordinator"].id))
    assert report.created == [] and report.skipped == []
    assert report.problems == ["bad.zip: refused, nothing in it was imported: "
                               "“docs/../../evil.md” would be unpacked outside its folder."]
    assert procedures(app) == {}


def test_a_zip_with_too_many_files_is_refused(app, client):
    archive = zipped({f"p{n}.md": b"x" for n in range(importer.MAX_FILES + 1)},
                     zipfile.ZIP_STORED)
    report = report_of(upload(client, ("many.zip", archive)))
    assert "many.zip: refused, nothing in it was imported: it holds more than 2,000 files" \
        in report
    assert procedures(app) == {}


def test_a_zip_whose_end_record_claims_too_many_files_is_refused_before_reading(app, client):
    archive = bytearray(zipped({"holds.md": HOLDS}))
    end = archive.rfind(b"PK\x05\x06")
    archive[end + 8:end + 12] = b"\xff\xff\xff\xff"  # entries on this disk, and in all
    report = report_of(upload(client, ("claims.zip", bytes(archive))))
    assert "claims.zip: refused, nothing in it was imported: it holds more than" in report


def test_a_zip_that_would_unpack_too_large_is_refused(app, client):
    megabyte = b"\0" * 1_000_000  # compresses to about a kilobyte
    archive = zipped({f"p{n}.md": megabyte for n in range(51)})
    assert len(archive) < 200_000
    report = report_of(upload(client, ("bomb.zip", archive)))
    assert "bomb.zip: refused, nothing in it was imported: it would unpack to 51.0 MB; the " \
           "limit is 50.0 MB for one upload." in report
    assert procedures(app) == {}


def test_a_zip_member_larger_than_it_claims_is_not_unpacked(app, client):
    archive = bytearray(zipped({"holds.md": HOLDS * 200}))
    size = (len(HOLDS) * 200).to_bytes(4, "little")
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # the sizes in both headers: 10 bytes
        at = archive.find(header)
        offset = 22 if header == b"PK\x03\x04" else 24
        assert archive[at + offset:at + offset + 4] == size
        archive[at + offset:at + offset + 4] = (10).to_bytes(4, "little")
    report = report_of(upload(client, ("liar.zip", bytes(archive))))
    assert "holds.md: cannot be unpacked from liar.zip." in report
    assert procedures(app) == {}


def test_files_over_the_size_limit_are_named(app, client, tmp_path, monkeypatch):
    big = b"# Big\n\n" + b"word " * 210_000
    (tmp_path / "big.md").write_bytes(big)  # the command refuses it
    with app.app_context():
        assert importer.import_folder(tmp_path).problems == [
            "big.md: too large (1.1 MB; the limit is 1.0 MB a file). "
            "Split it into several procedures."]
    # Uploads: a smaller limit keeps the test's request small.
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 20_000)
    big = b"# Big\n\n" + b"word " * 5_000
    report = report_of(upload(client, ("big.md", big), ("holds.md", HOLDS),
                              ("big.zip", zipped({"inside.md": big}))))
    assert "big.md: too large (over 20 kB; the limit is 20 kB a file)." in report
    assert "inside.md: too large (25 kB; the limit is 20 kB a file)." in report
    assert set(procedures(app)) == {"import:holds.md"}


def test_a_request_over_the_upload_limit_gets_a_friendly_413(app, client):
    app.config["APPRENTICE_MAX_UPLOAD_BYTES"] = 5_000
    response = upload(client, ("holds.md", HOLDS * 200))
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "That upload is too large" in page and "Upload fewer files at once" in page
    assert procedures(app) == {}


@pytest.mark.parametrize("who", ["apprentice", "mentor"])
def test_only_coordinators_import(app, cast, who):
    client = as_person(app, cast[who])
    assert client.get("/procedures/import").status_code == 403
    assert upload(client, ("holds.md", HOLDS)).status_code == 403
    assert "/procedures/import" not in client.get("/procedures/").get_data(as_text=True)
    with app.app_context(), pytest.raises(Invalid, match="Only coordinators import"):
        importer.import_uploads([("holds.md", io.BytesIO(HOLDS))], get_person(cast[who].id))
    assert procedures(app) == {}


def test_coordinators_find_the_form_from_the_procedures_page(client):
    page = client.get("/procedures/").get_data(as_text=True)
    assert 'href="/procedures/import"' in page
    form = client.get("/procedures/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form
    assert 'accept=".htm,.html,.markdown,.md,.txt,.zip"' in form and "multiple" in form


def test_sending_no_file_says_so_next_to_the_field(app, client):
    for data in ({}, {"files": [(io.BytesIO(b""), "")]}):
        response = client.submit("/procedures/import", data)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        error = page.split('id="files-error"')[1].split("</div>")[0]
        assert "Choose one or more files to import." in error
    assert procedures(app) == {}


def test_hostile_html_is_made_safe_when_the_page_is_shown(app, client, cast):
    hostile = (b"<html><head><title>Desk safety</title><script>steal()</script></head><body>"
               b"<p>Stay calm.</p><img src=x onerror=alert(1)>"
               b"<a href=\"javascript:alert(1)\">help</a>"
               b"<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;</p>"
               b"<p>[x](javascript:alert(3))</p></body></html>")
    assert "1 created" in report_of(upload(client, ("safety.html", hostile)))
    with app.app_context():
        procedure = db_session().scalar(select(Procedure))
    page = as_person(app, cast["apprentice"]).get(f"/procedures/{procedure.id}")
    article = page.get_data(as_text=True).split('<article class="ap-procedure">')[1]
    article = article.split("</article>")[0]
    assert "Stay calm." in article
    assert problems_in(article) == [], article
    assert "steal()" not in article


def test_wrong_kinds_of_file_are_skipped_with_the_reason(app, client):
    report = report_of(upload(client, ("minutes.pdf", b"%PDF-1.4"), ("holds.md", HOLDS),
                              ("notes", b"no suffix"), ("fake.zip", b"not a zip")))
    assert "1 created" in report
    assert "minutes.pdf: not a Markdown, HTML or text file (or a .zip of them)" in report
    assert "notes: not a Markdown, HTML or text file" in report
    assert "fake.zip: cannot be opened as a zip file." in report


def test_odd_names_never_reach_the_disk_or_answer_500(app, client):
    report = report_of(upload(
        client, ("/home/me/holds.md", HOLDS), ("../../renewals.md", RENEWALS),
        ("заметки.md", b"# Notes\n\nx\n"), ("dup.zip", zipped({"holds.md": HOLDS})),
        ("bad\x01name.md", b"x"), ("broken.md", b"---\ntitle:\n---\n\x00")))
    assert set(procedures(app)) == {"import:holds.md", "import:renewals.md",
                                    "import:заметки.md"}
    assert "holds.md: has the same name as another file imported with it" in report
    assert "&#39;bad\\x01name.md&#39;: has no usable file name." in report
    assert "broken.md: The text holds a NUL character." in report
    with app.app_context():
        assert db_session().scalar(select(func.count(Procedure.id))) == 3


def test_a_streamed_request_over_the_limit_gets_the_413_page_too(app, client):
    app.config["APPRENTICE_MAX_UPLOAD_BYTES"] = 5_000
    boundary = "xyz"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{client.csrf_token()}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"files\"; filename=\"holds.md\"\r\n\r\n").encode() + HOLDS * 200 + \
        f"\r\n--{boundary}--\r\n".encode()
    response = client.post("/procedures/import", input_stream=io.BytesIO(body),
                           content_type=f"multipart/form-data; boundary={boundary}",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert "That upload is too large" in response.get_data(as_text=True)
    assert procedures(app) == {}
