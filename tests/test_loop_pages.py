"""The daily loop through its pages: log, review, sign off, see progress; reminders;
dashboards in a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from apprentice.records.reminders import send_reminders
from apprentice.training import services
from tests.factories import DEFAULT_PASSWORD, add_entries
from tests.loop import as_person, build_dashboards, log_form, log_one, statements_sent
from tests.support import dates


def test_the_whole_loop(app, loop):
    apprentice_client = as_person(app, loop["apprentice"])
    data = log_form(apprentice_client, loop["competency"].id)
    response = apprentice_client.submit("/log/new", data)
    assert response.status_code == 302
    with app.app_context():
        [entry] = services.entries_of(loop["apprentice"].id)
        assert entry.state == "submitted"

    mentor_client = as_person(app, loop["mentor"])
    queue = mentor_client.get("/review/").get_data(as_text=True)
    assert "Ran the desk on my own" in queue
    assert mentor_client.submit("/review/verify", {"entry_id": str(entry.id)}).status_code == 302

    url = f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"
    without_password = mentor_client.submit(url, {"level": "5", "entry_ids": [str(entry.id)]})
    assert "Type your password" in without_password.get_data(as_text=True)
    signed = mentor_client.submit(url, {"level": "5", "entry_ids": [str(entry.id)],
                                        "password": DEFAULT_PASSWORD})
    assert signed.status_code == 302

    mine = apprentice_client.get("/programmes/mine").get_data(as_text=True)
    assert "1 of 12 needed signed off" in mine
    coordinator_home = as_person(app, loop["coordinator"]).get("/").get_data(as_text=True)
    # 1 of 12 in the first area: the cell reads 8 %, shaded in the lowest band.
    assert 'class="ap-share ap-share-1">8 %</td>' in coordinator_home


def test_the_same_form_sent_twice_makes_one_entry(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id)
    client.submit("/log/new", data)
    client.submit("/log/new", data)
    with app.app_context():
        assert len(services.entries_of(loop["apprentice"].id)) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"minutes": "0"}, "minutes", "Between 1 minute"),
        ({"minutes": "-5"}, "minutes", "Between 1 minute"),
        ({"minutes": "1500"}, "minutes", "Between 1 minute"),
        ({"occurred_on": timedelta(days=1)}, "occurred_on", "cannot be in the future"),
        ({"competency_ids": []}, "competency_ids", "Choose at least one competency"),
        ({"description": ""}, "description", "Write a few words"),
    ],
)
def test_bad_entries_are_explained_next_to_the_field(app, loop, change, field, message):
    client = as_person(app, loop["apprentice"])
    # A day as an offset from today (tomorrow), read now: not when the module was imported.
    response = client.submit("/log/new", log_form(client, loop["competency"].id,
                                                  **dates.from_today(change)))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error"' in page and message in page
    with app.app_context():
        assert services.entries_of(loop["apprentice"].id) == []


def test_another_apprentices_entry_is_out_of_reach(app, loop, make_person):
    entry = log_one(app, loop, submit="", save_draft="1")
    stranger = as_person(app, make_person(roles=["apprentice"]))
    assert stranger.get(f"/log/{entry.id}").status_code == 404
    assert stranger.submit(f"/log/{entry.id}/delete").status_code == 404
    unpaired = as_person(app, loop["other"])
    assert unpaired.submit(f"/review/{entry.id}/return", {"comment": "x"}).status_code == 404
    with app.app_context():
        assert services.get_entry(entry.id).state == "draft"


def test_an_unpaired_mentor_cannot_verify(app, loop):
    entry = log_one(app, loop)
    response = as_person(app, loop["other"]).submit(
        "/review/verify", {"entry_id": str(entry.id)}, follow_redirects=True)
    assert "You are not this apprentice" in response.get_data(as_text=True)
    with app.app_context():
        assert services.get_entry(entry.id).state == "submitted"


def test_reminders_go_once_a_day(app, loop):
    log_one(app, loop)
    with app.test_request_context(base_url="https://intranet.example/training"):
        first = send_reminders(date.today())
        again = send_reminders(date.today())
        tomorrow = send_reminders(date.today() + timedelta(days=1))
    assert first.sent == [loop["mentor"].email]
    assert again.sent == [] and again.skipped_already_sent == [loop["mentor"].email]
    assert tomorrow.sent == [loop["mentor"].email]


def test_reminder_cli_logs_the_digest_without_a_mail_server(app, loop):
    log_one(app, loop)
    result = app.test_cli_runner().invoke(args=["apprentice", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Sent 1" in result.output


def test_dashboards_use_the_same_number_of_queries_at_10_and_1000_entries(app, loop):
    def boards():
        build_dashboards(app, loop)

    add_entries(app, loop, 10)
    boards()  # the pairings, kept from here on whatever the entries (core.versions)
    small = statements_sent(app, boards)
    add_entries(app, loop, 990, first=10)
    large = statements_sent(app, boards)
    assert small == large


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would have been sent."""

    sent: list = []
    fail = False

    def __init__(self, host, port, timeout):
        self.host, self.port = host, port

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False

    def starttls(self):
        self.tls = True

    def login(self, user, password):
        self.user = user

    def send_message(self, message):
        if FakeSMTP.fail:
            raise OSError("connection refused")
        FakeSMTP.sent.append((self.host, self.port, message))


def test_reminders_by_smtp_and_a_failed_send_is_retried(app, loop, monkeypatch):
    monkeypatch.setattr("apprentice.records.reminders.smtplib.SMTP", FakeSMTP)
    FakeSMTP.sent = []
    app.config.update(APPRENTICE_MAIL_SERVER="mail.library.example", APPRENTICE_MAIL_PORT=587,
                      APPRENTICE_MAIL_FROM="training@library.example")
    log_one(app, loop)
    with app.test_request_context(base_url="https://intranet.example/training"):
        FakeSMTP.fail = True
        failed = send_reminders(date.today())
        FakeSMTP.fail = False
        retried = send_reminders(date.today())
    assert failed.failed and not failed.sent
    assert retried.sent == [loop["mentor"].email]
    [(host, port, message)] = FakeSMTP.sent
    assert (host, port) == ("mail.library.example", 587)
    assert message["To"] == loop["mentor"].email
    assert message["From"] == "training@library.example"
    assert "https://intranet.example/training/review/" in message.get_content()
    assert "1 log entry waits for your review" in message.get_content()
