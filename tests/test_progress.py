"""The progress engine's rules, one by one, on small hand-built frameworks.

Every expected number here is worked out by hand in the test (or its comment),
never by asking the engine twice.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from apprentice.competencies.models import SupervisionLevel as L
from apprentice.programmes.progress import (
    NO_EVIDENCE,
    AreaShape,
    CompetencyShape,
    CompetencyStatus,
    Evidence,
    FrameworkShape,
    Rule,
    area_progress,
    competencies_needed,
    competency_status,
    expected_percent,
    programme_progress,
)

# -- builders ------------------------------------------------------------------


def make_competency(
    code: str = "C-01", *, lineage: str | None = None, id: int = 1, statement: str = ""
) -> CompetencyShape:
    return CompetencyShape(
        id=id, lineage=lineage or f"lineage-{code}", code=code,
        statement=statement or f"Does {code}.",
    )


def make_area(
    area_id: int, size: int, *, required: bool = True, min_hours: int | None = None
) -> AreaShape:
    """An area with ``size`` competencies coded A<id>-<n>, lineage lineage-A<id>-<n>."""
    competencies = tuple(
        make_competency(f"A{area_id}-{n}", id=area_id * 100 + n) for n in range(1, size + 1)
    )
    return AreaShape(id=area_id, name=f"Area {area_id}", required=required,
                     competencies=competencies, min_hours=min_hours)


def signed(area: AreaShape, count: int, level: L = L.INDEPENDENT) -> dict[str, L]:
    """Sign-offs at ``level`` for the first ``count`` competencies of ``area``."""
    assert count <= len(area.competencies)
    return {c.lineage: level for c in area.competencies[:count]}


def evidence(*levels: dict[str, L], entries=None, minutes=None) -> Evidence:
    merged: dict[str, L] = {}
    for part in levels:
        merged.update(part)
    return Evidence(entries=entries or {}, levels=merged, minutes=minutes or {})


def make_framework(*areas: AreaShape, rule: Rule | None = None) -> FrameworkShape:
    return FrameworkShape(id=1, name="Test framework", rule=rule or Rule(), areas=areas)


START = date(2024, 1, 1)
TARGET = date(2024, 1, 11)  # ten days: each day is 10% of a steady pace
MIDWAY = date(2024, 1, 6)


def progress(framework, electives=(), ev=NO_EVIDENCE, *, today=MIDWAY,
             start=START, target=TARGET):
    return programme_progress(framework, electives, ev, start=start, target=target, today=today)


# -- competency status -----------------------------------------------------------


def test_competency_with_no_evidence_is_not_started():
    result = competency_status(make_competency(), NO_EVIDENCE, Rule())
    assert result.status == CompetencyStatus.NOT_STARTED
    assert result.level is None


def test_competency_with_zero_entries_is_not_started():
    c = make_competency()
    result = competency_status(c, evidence(entries={c.lineage: 0}), Rule())
    assert result.status == CompetencyStatus.NOT_STARTED


@pytest.mark.parametrize("entries", [1, 7])
def test_competency_with_log_entries_but_no_sign_off_is_in_progress(entries):
    c = make_competency()
    result = competency_status(c, evidence(entries={c.lineage: entries}), Rule())
    assert result.status == CompetencyStatus.IN_PROGRESS
    assert result.level is None


@pytest.mark.parametrize(
    ("required_level", "signed_level", "status"),
    [
        (L.INDEPENDENT, L.CAN_TRAIN, CompetencyStatus.SIGNED_OFF),
        (L.INDEPENDENT, L.INDEPENDENT, CompetencyStatus.SIGNED_OFF),
        (L.INDEPENDENT, L.MENTOR_AVAILABLE, CompetencyStatus.BELOW_LEVEL),
        (L.INDEPENDENT, L.OBSERVED, CompetencyStatus.BELOW_LEVEL),
        (L.MENTOR_AVAILABLE, L.INDEPENDENT, CompetencyStatus.SIGNED_OFF),
        (L.MENTOR_AVAILABLE, L.MENTOR_AVAILABLE, CompetencyStatus.SIGNED_OFF),
        (L.MENTOR_AVAILABLE, L.MENTOR_PRESENT, CompetencyStatus.BELOW_LEVEL),
        (L.OBSERVED, L.OBSERVED, CompetencyStatus.SIGNED_OFF),
        (L.CAN_TRAIN, L.INDEPENDENT, CompetencyStatus.BELOW_LEVEL),
        (L.CAN_TRAIN, L.CAN_TRAIN, CompetencyStatus.SIGNED_OFF),
    ],
)
def test_sign_off_counts_only_at_or_above_the_rule_level(required_level, signed_level, status):
    c = make_competency()
    result = competency_status(
        c, evidence({c.lineage: signed_level}), Rule(level_required=required_level)
    )
    assert result.status == status
    assert result.level == signed_level


def test_sign_off_wins_over_log_entries():
    c = make_competency()
    ev = evidence({c.lineage: L.INDEPENDENT}, entries={c.lineage: 3})
    assert competency_status(c, ev, Rule()).status == CompetencyStatus.SIGNED_OFF


def test_sign_off_below_level_wins_over_log_entries():
    c = make_competency()
    ev = evidence({c.lineage: L.ASSISTED}, entries={c.lineage: 3})
    assert competency_status(c, ev, Rule()).status == CompetencyStatus.BELOW_LEVEL


def test_sign_off_on_an_older_wording_with_the_same_lineage_counts():
    old = make_competency("FND-01", lineage="abc", id=1, statement="Old wording.")
    current = make_competency("FND-01", lineage="abc", id=2, statement="New wording.")
    ev = evidence({old.lineage: L.INDEPENDENT}, entries={old.lineage: 2})
    result = competency_status(current, ev, Rule())
    assert result.status == CompetencyStatus.SIGNED_OFF
    assert result.competency is current


def test_evidence_of_a_different_lineage_does_not_count_even_with_the_same_code():
    other = make_competency("FND-01", lineage="other", id=1)
    current = make_competency("FND-01", lineage="abc", id=2)
    ev = evidence({other.lineage: L.CAN_TRAIN}, entries={other.lineage: 5})
    assert competency_status(current, ev, Rule()).status == CompetencyStatus.NOT_STARTED


def test_log_entries_are_keyed_by_lineage_too():
    current = make_competency("FND-01", lineage="abc", id=2)
    assert competency_status(
        current, evidence(entries={"abc": 1}), Rule()
    ).status == CompetencyStatus.IN_PROGRESS


def test_status_labels_are_plain_words():
    assert CompetencyStatus.BELOW_LEVEL.label == "Signed off below the required level"
    assert CompetencyStatus.NOT_STARTED.label == "Not started"


# -- competencies needed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "percent", "needed"),
    [
        (10, 100, 10),
        (10, 75, 8),   # 7.5 rounds up
        (10, 70, 7),   # exact: no rounding
        (10, 1, 1),    # 0.1 rounds up to one
        (12, 50, 6),
        (13, 50, 7),   # 6.5 rounds up
        (3, 34, 2),    # 1.02 rounds up
        (4, 25, 1),
        (100, 7, 7),   # exact, no float drift upwards
        (0, 100, 0),
    ],
)
def test_competencies_needed_rounds_up(total, percent, needed):
    assert competencies_needed(total, Rule(area_completion_percent=percent)) == needed


# -- areas -----------------------------------------------------------------------


def test_area_with_no_evidence():
    area = make_area(1, 4)
    result = area_progress(area, NO_EVIDENCE, Rule())
    assert (result.signed_off, result.needed, result.percent, result.total) == (0, 4, 0, 4)
    assert result.complete is False
    assert result.hours_met is True  # no minimum set
    assert [c.status for c in result.competencies] == [CompetencyStatus.NOT_STARTED] * 4


def test_area_complete_when_every_competency_signed_off_at_level():
    area = make_area(1, 4)
    result = area_progress(area, evidence(signed(area, 4)), Rule())
    assert (result.signed_off, result.needed, result.percent) == (4, 4, 100)
    assert result.complete is True


def test_area_not_complete_one_short():
    area = make_area(1, 4)
    result = area_progress(area, evidence(signed(area, 3)), Rule())
    assert (result.signed_off, result.percent, result.complete) == (3, 75, False)


def test_below_level_sign_offs_do_not_count_towards_an_area():
    area = make_area(1, 4)
    ev = evidence(signed(area, 2), {area.competencies[2].lineage: L.MENTOR_AVAILABLE,
                                    area.competencies[3].lineage: L.OBSERVED})
    result = area_progress(area, ev, Rule())
    assert result.signed_off == 2
    assert result.percent == 50
    assert result.complete is False
    assert [c.status for c in result.competencies] == [
        CompetencyStatus.SIGNED_OFF, CompetencyStatus.SIGNED_OFF,
        CompetencyStatus.BELOW_LEVEL, CompetencyStatus.BELOW_LEVEL,
    ]


def test_lower_rule_level_lets_the_same_sign_offs_complete_the_area():
    area = make_area(1, 3)
    ev = evidence(signed(area, 3, L.MENTOR_AVAILABLE))
    assert area_progress(area, ev, Rule(level_required=L.MENTOR_AVAILABLE)).complete is True
    assert area_progress(area, ev, Rule(level_required=L.INDEPENDENT)).complete is False


def test_area_complete_at_the_completion_percent_rounded_up():
    area = make_area(1, 10)
    rule = Rule(area_completion_percent=75)  # needs 8 of 10
    seven = area_progress(area, evidence(signed(area, 7)), rule)
    eight = area_progress(area, evidence(signed(area, 8)), rule)
    assert (seven.needed, seven.complete, seven.percent) == (8, False, 87)  # 700 // 8
    assert (eight.needed, eight.complete, eight.percent) == (8, True, 100)


def test_area_percent_is_capped_at_100_when_more_than_needed_are_signed_off():
    area = make_area(1, 10)
    result = area_progress(area, evidence(signed(area, 10)), Rule(area_completion_percent=50))
    assert (result.signed_off, result.needed, result.percent) == (10, 5, 100)


@pytest.mark.parametrize(("size", "done", "percent"), [(3, 1, 33), (3, 2, 66), (6, 1, 16)])
def test_area_percent_rounds_down(size, done, percent):
    area = make_area(1, size)
    assert area_progress(area, evidence(signed(area, done)), Rule()).percent == percent


def test_empty_area_is_never_complete():
    area = make_area(1, 0)
    result = area_progress(area, NO_EVIDENCE, Rule())
    assert (result.needed, result.percent, result.complete) == (0, 0, False)


@pytest.mark.parametrize(
    ("verified", "unverified", "hours_met"),
    [
        (600, 0, True),      # exactly 10 hours
        (601, 0, True),
        (599, 0, False),     # a minute short
        (599, 1, False),     # unverified minutes do not count
        (0, 10_000, False),
    ],
)
def test_area_with_min_hours_needs_verified_minutes(verified, unverified, hours_met):
    area = make_area(1, 2, min_hours=10)
    ev = evidence(signed(area, 2), minutes={1: (verified, unverified)})
    result = area_progress(area, ev, Rule())
    assert result.hours_met is hours_met
    assert result.complete is hours_met
    assert (result.verified_minutes, result.unverified_minutes) == (verified, unverified)
    assert result.percent == 100  # the percent counts sign-offs only


def test_hours_alone_do_not_complete_an_area():
    area = make_area(1, 2, min_hours=1)
    result = area_progress(area, evidence(signed(area, 1), minutes={1: (600, 0)}), Rule())
    assert result.hours_met is True
    assert result.complete is False


def test_minutes_logged_against_another_area_do_not_count():
    area = make_area(1, 1, min_hours=1)
    result = area_progress(area, evidence(signed(area, 1), minutes={2: (600, 0)}), Rule())
    assert (result.verified_minutes, result.hours_met, result.complete) == (0, False, False)


def test_area_with_zero_min_hours_needs_no_minutes():
    area = make_area(1, 1, min_hours=0)
    result = area_progress(area, evidence(signed(area, 1)), Rule())
    assert result.hours_met is True
    assert result.complete is True


# -- expected percent --------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2023, 6, 1), 0),      # before the start
        (START, 0),                 # on the start
        (date(2024, 1, 2), 10),     # 1 of 10 days
        (date(2024, 1, 4), 30),
        (MIDWAY, 50),               # halfway
        (date(2024, 1, 10), 90),
        (TARGET, 100),              # on the target
        (date(2030, 1, 1), 100),    # long after
    ],
)
def test_expected_percent_is_a_steady_pace(today, expected):
    assert expected_percent(START, TARGET, today) == expected


def test_expected_percent_rounds_down():
    start = date(2024, 1, 1)
    assert expected_percent(start, start + timedelta(days=3), start + timedelta(days=1)) == 33
    assert expected_percent(start, start + timedelta(days=3), start + timedelta(days=2)) == 66


def test_expected_percent_over_a_real_programme_length():
    start, target = date(2024, 1, 1), date(2028, 1, 1)  # 1461 days, one leap day
    # 1461 * 50 = 73050: day 730 is still 49%, day 731 is 50%.
    assert expected_percent(start, target, date(2025, 12, 31)) == 49  # 73000 // 1461
    assert expected_percent(start, target, date(2026, 1, 1)) == 50  # 73100 // 1461


def test_expected_percent_when_start_and_target_are_the_same_day():
    assert expected_percent(START, START, START) == 0
    assert expected_percent(START, START, START + timedelta(days=1)) == 100


# -- programme: completion -------------------------------------------------------

R1, R2 = make_area(1, 4), make_area(2, 4)
E3 = make_area(3, 4, required=False)
E4 = make_area(4, 2, required=False)
E5 = make_area(5, 6, required=False)
TWO_OF_THREE = Rule(electives_required=2)


def five_areas(rule: Rule = TWO_OF_THREE) -> FrameworkShape:
    """Two required areas (4 + 4) and three electives (4, 2, 6); two electives needed."""
    return make_framework(R1, E3, R2, E4, E5, rule=rule)


def test_framework_splits_required_and_elective_areas_in_order():
    framework = five_areas()
    assert framework.required_areas == (R1, R2)
    assert framework.elective_areas == (E3, E4, E5)


def test_programme_complete_with_every_required_area_and_enough_chosen_electives():
    ev = evidence(signed(R1, 4), signed(R2, 4), signed(E3, 4), signed(E4, 2))
    result = progress(five_areas(), [3, 4], ev)
    assert result.complete is True
    assert result.percent == 100
    assert (result.required_done, result.electives_done, result.electives_chosen) == (2, 2, 2)


def test_programme_not_complete_while_a_required_area_is_not():
    ev = evidence(signed(R1, 4), signed(R2, 3), signed(E3, 4), signed(E4, 2))
    result = progress(five_areas(), [3, 4], ev)
    assert result.complete is False
    assert result.required_done == 1
    # needed 4 + 4 + 4 + 2 = 14, done 4 + 3 + 4 + 2 = 13: 1300 // 14
    assert result.percent == 92


def test_completing_an_elective_that_was_not_chosen_does_not_count():
    ev = evidence(signed(R1, 4), signed(R2, 4), signed(E3, 4), signed(E4, 2))
    result = progress(five_areas(), [3, 5], ev)  # E4 complete but not chosen
    assert result.complete is False
    assert result.electives_done == 1
    assert [a.area for a in result.electives] == [E3, E5]
    # needed 4 + 4 + 4 + 6 = 18, done 4 + 4 + 4 + 0 = 12: 1200 // 18
    assert result.percent == 66


def test_fewer_electives_chosen_than_required_is_not_complete_even_if_all_are_done():
    ev = evidence(signed(R1, 4), signed(R2, 4), signed(E3, 4))
    result = progress(five_areas(), [3], ev)
    assert result.complete is False
    assert (result.electives_chosen, result.electives_done) == (1, 1)
    # needed 4 + 4 + 4 + one average elective round((4 + 2 + 6) / 3) = 4 -> 16; done 12
    assert result.percent == 75


def test_more_electives_chosen_than_required_is_complete_once_enough_are_done():
    ev = evidence(signed(R1, 4), signed(R2, 4), signed(E4, 2), signed(E5, 6))
    result = progress(five_areas(), [3, 4, 5], ev)
    assert result.complete is True
    assert (result.electives_chosen, result.electives_done) == (3, 2)
    assert result.percent == 100


def test_with_no_electives_required_only_required_areas_matter():
    rule = Rule(electives_required=0)
    ev = evidence(signed(R1, 4), signed(R2, 4))
    result = progress(five_areas(rule), [], ev)
    assert result.complete is True
    assert result.percent == 100
    assert result.electives == ()


def test_with_no_electives_required_a_required_area_still_blocks_completion():
    rule = Rule(electives_required=0)
    ev = evidence(signed(R1, 4), signed(R2, 2), signed(E3, 4))
    result = progress(five_areas(rule), [3], ev)
    assert result.complete is False
    assert result.percent == 75  # 6 of 8: chosen electives add nothing when none are needed


def test_a_required_area_passed_as_an_elective_is_not_an_elective():
    ev = evidence(signed(R1, 4), signed(R2, 4))
    result = progress(five_areas(), [1, 2], ev)
    assert result.electives_chosen == 0
    assert result.complete is False


def test_programme_areas_are_required_then_chosen_electives_in_framework_order():
    result = progress(five_areas(), [5, 3])
    assert [a.area for a in result.areas] == [R1, R2, E3, E5]


def test_programme_missing_hours_keeps_it_incomplete_at_99_percent():
    hours_area = make_area(1, 4, min_hours=5)
    framework = make_framework(hours_area, R2, E3, rule=Rule(electives_required=1))
    ev = evidence(signed(hours_area, 4), signed(R2, 4), signed(E3, 4), minutes={1: (299, 60)})
    result = progress(framework, [3], ev)
    assert result.complete is False
    assert result.percent == 99
    done = evidence(signed(hours_area, 4), signed(R2, 4), signed(E3, 4), minutes={1: (300, 0)})
    assert progress(framework, [3], done).complete is True


def test_framework_with_an_empty_required_area_can_never_be_complete():
    framework = make_framework(R1, make_area(2, 0), rule=Rule(electives_required=0))
    result = progress(framework, [], evidence(signed(R1, 4)))
    assert result.complete is False
    assert result.percent == 99  # 4 of 4 needed sign-offs, but not complete


# -- programme: percent ----------------------------------------------------------


def test_programme_percent_with_nothing_done_and_nothing_chosen():
    result = progress(five_areas(), [])
    assert result.percent == 0
    assert result.electives_chosen == 0


def test_programme_percent_counts_an_average_elective_for_each_not_yet_chosen():
    # Required: 4 of 4 and 4 of 4. No electives chosen; two needed, each worth
    # round((4 + 2 + 6) / 3) = 4. Needed 8 + 8 = 16, done 8: 50%.
    result = progress(five_areas(), [], evidence(signed(R1, 4), signed(R2, 4)))
    assert result.percent == 50


def test_programme_percent_counts_required_areas_plus_chosen_electives():
    # R1 4/4, R2 2/4, E3 2/4 chosen, one more elective (average 4) to choose.
    # Needed 4 + 4 + 4 + 4 = 16, done 4 + 2 + 2 = 8: 50%.
    ev = evidence(signed(R1, 4), signed(R2, 2), signed(E3, 2))
    assert progress(five_areas(), [3], ev).percent == 50


def test_programme_percent_counts_only_the_best_chosen_electives():
    # Three chosen, two needed: E4 (2/2) and E5 (3/6) are best, E3 (0/4) is left out.
    # Needed 4 + 4 + 2 + 6 = 16, done 4 + 4 + 2 + 3 = 13: 1300 // 16 = 81.
    ev = evidence(signed(R1, 4), signed(R2, 4), signed(E4, 2), signed(E5, 3))
    assert progress(five_areas(), [3, 4, 5], ev).percent == 81
    assert progress(five_areas(), [4, 5], ev).percent == 81


def test_programme_percent_caps_each_area_at_what_it_needs():
    rule = Rule(electives_required=1, area_completion_percent=50)
    framework = make_framework(make_area(1, 4), make_area(2, 4, required=False), rule=rule)
    # Area 1 needs 2, has 4 (counts 2); elective needs 2, has 0. Needed 4, done 2: 50%.
    ev = evidence(signed(framework.areas[0], 4))
    assert progress(framework, [2], ev).percent == 50


def test_programme_percent_below_level_sign_offs_do_not_count():
    ev = evidence(signed(R1, 4, L.MENTOR_AVAILABLE), signed(R2, 4))
    # Needed 4 + 4 + 2 * 4 = 16, done 4: 25%.
    assert progress(five_areas(), [], ev).percent == 25
    lenient = Rule(electives_required=2, level_required=L.MENTOR_AVAILABLE)
    assert progress(five_areas(lenient), [], ev).percent == 50


def test_programme_percent_is_100_only_when_complete():
    framework = make_framework(R1, R2, E3, E4, rule=Rule(electives_required=1))
    ev = evidence(signed(R1, 4), signed(R2, 4), signed(E3, 4))
    result = progress(framework, [3], ev)
    assert (result.complete, result.percent) == (True, 100)
    one_short = evidence(signed(R1, 4), signed(R2, 4), signed(E3, 3))
    result = progress(framework, [3], one_short)
    assert (result.complete, result.percent) == (False, 91)  # 11 of 12: 1100 // 12


def test_choosing_an_extra_elective_never_lowers_the_programme_percent():
    rule = Rule(electives_required=1)
    required = make_area(1, 4)
    small = make_area(2, 2, required=False)
    large = make_area(3, 6, required=False)
    framework = make_framework(required, small, large, rule=rule)
    ev = evidence(signed(small, 2), signed(large, 5))
    # Only the large elective chosen: needed 4 + 6 = 10, done 0 + 5 = 5: 50%.
    assert progress(framework, [3], ev).percent == 50
    # Choosing the small one too (2 of 2) may not drop that figure; the engine
    # counts only the small one (needed 4 + 2, done 2: 33%).
    assert progress(framework, [3, 2], ev).percent >= 50


# -- programme: on track and overdue ---------------------------------------------


def one_area_of_100() -> FrameworkShape:
    """One required area of 100 competencies, no electives: percent == sign-offs."""
    return make_framework(make_area(1, 100), rule=Rule(electives_required=0))


@pytest.mark.parametrize(
    ("done", "on_track"),
    [
        (49, False),   # behind the steady pace of 50%
        (50, True),    # exactly on pace
        (80, True),    # ahead
    ],
)
def test_on_track_compares_the_percent_with_a_steady_pace(done, on_track):
    framework = one_area_of_100()
    result = progress(framework, [], evidence(signed(framework.areas[0], done)), today=MIDWAY)
    assert result.expected_percent == 50
    assert result.percent == done
    assert result.on_track is on_track
    assert result.overdue is False


def test_nothing_done_before_the_start_is_on_track():
    result = progress(one_area_of_100(), [], today=date(2023, 12, 1))
    assert (result.expected_percent, result.percent, result.on_track) == (0, 0, True)


def test_not_complete_on_the_target_day_is_behind_but_not_yet_overdue():
    framework = one_area_of_100()
    result = progress(framework, [], evidence(signed(framework.areas[0], 99)), today=TARGET)
    assert result.expected_percent == 100
    assert (result.on_track, result.overdue) == (False, False)


def test_not_complete_after_the_target_is_overdue_and_not_on_track():
    framework = one_area_of_100()
    result = progress(framework, [], evidence(signed(framework.areas[0], 99)),
                      today=TARGET + timedelta(days=1))
    assert (result.complete, result.on_track, result.overdue) == (False, False, True)


@pytest.mark.parametrize("today", [date(2023, 12, 1), START, MIDWAY, TARGET, date(2030, 1, 1)])
def test_complete_is_always_on_track_and_never_overdue(today):
    framework = one_area_of_100()
    result = progress(framework, [], evidence(signed(framework.areas[0], 100)), today=today)
    assert result.complete is True
    assert (result.on_track, result.overdue) == (True, False)
