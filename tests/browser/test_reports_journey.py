"""The coordinator opens the reports from the menu: each page with its chart and table,
axe clean; the activity report shows the demo's weeks and its CSV downloads. Jordan sees
his hours per week on his home page.

From the demo: Jordan Lee logged sessions 40 to 3 days ago; Carmen Ortiz coordinates.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.steps import CARMEN, JORDAN, click_to_go, expect, go

pytestmark = pytest.mark.browser

REPORTS = ("Cohort progress", "Activity over time", "Planned and logged hours", "Mentor load",
           "Programme health")


def test_the_coordinator_reads_each_report_and_downloads_one(page, sign_in, check_axe):
    sign_in(page, CARMEN)
    go(page, "Reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    check_axe(page)
    for title in REPORTS:
        click_to_go(page, page.locator("main").get_by_role("link", name=title).first)
        expect(page.get_by_role("heading", level=1)).to_contain_text(title)
        check_axe(page)
        page.go_back()
    click_to_go(page, page.get_by_role("link", name="Activity over time"))
    chart = page.get_by_role("img", name=re.compile("Time logged per week by the cohort"))
    expect(chart).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Time logged per week"))
    logged = table.get_by_role("row").filter(has_text=re.compile(r"\d h|[1-9]\d* min"))
    expect(logged).not_to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    assert download.value.suggested_filename.startswith("activity-")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("week,week_start,") and "Access Services" in text


def test_jordan_sees_his_hours_per_week_at_home(page, sign_in, check_axe):
    sign_in(page, JORDAN)
    chart = page.get_by_role("img", name="Your hours per week")
    expect(chart).to_be_visible()
    check_axe(page)
