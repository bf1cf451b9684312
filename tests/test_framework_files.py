"""Framework files: the shipped default, JSON and CSV round trips, and every problem
a coordinator's file can have, reported all at once with where it is."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from apprentice.competencies.interchange import (
    MAX_FILE_BYTES,
    AreaSpec,
    CompetencySpec,
    FileProblems,
    FrameworkSpec,
    RuleSpec,
    read_csv,
    read_json,
    write_csv,
    write_json,
)
from apprentice.competencies.models import AreaKind, SupervisionLevel

LSSC = files("apprentice.competencies").joinpath("data", "lssc.json")
HEADER = "area,required,code,statement,min_hours\n"


@pytest.fixture(scope="module")
def lssc_text() -> str:
    return LSSC.read_text(encoding="utf-8")


def problems_of(reader, *args) -> list[str]:
    """The problems a reader reports; it must refuse the file with FileProblems."""
    with pytest.raises(FileProblems) as caught:
        reader(*args)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def valid_document() -> dict:
    """A small valid JSON framework: one required area, two electives, one needed."""
    return {
        "format": "apprentice-framework",
        "format_version": 1,
        "name": "Small framework",
        "version": 1,
        "status": "draft",
        "description": "",
        "rule": {
            "electives_required": 1,
            "level_required": "independent",
            "area_completion_percent": 100,
            "time_allowed_months": 48,
        },
        "areas": [
            {"name": "Desk", "kind": "required", "description": "", "min_hours": None,
             "competencies": [{"code": "D-1", "statement": "Greets patrons."},
                              {"code": "D-2", "statement": "Issues loans."}]},
            {"name": "Stacks", "kind": "elective", "description": "", "min_hours": 10,
             "competencies": [{"code": "S-1", "statement": "Shelves books."}]},
            {"name": "Events", "kind": "elective", "description": "", "min_hours": None,
             "competencies": [{"code": "E-1", "statement": "Runs a story time."}]},
        ],
    }


def json_problems(document: dict) -> list[str]:
    return problems_of(read_json, json.dumps(document, indent=2))


# -- the shipped default framework ------------------------------------------------


def test_shipped_framework_has_three_required_areas_then_seven_electives(lssc_text):
    spec = read_json(lssc_text)
    assert len(spec.areas) == 10
    assert [area.kind for area in spec.areas] == [AreaKind.REQUIRED] * 3 + [AreaKind.ELECTIVE] * 7
    assert spec.rule.electives_required == 3
    assert spec.rule.level_required == SupervisionLevel.INDEPENDENT


def test_shipped_framework_areas_have_8_to_16_competencies(lssc_text):
    for area in read_json(lssc_text).areas:
        assert 8 <= len(area.competencies) <= 16, area.name


def test_shipped_framework_codes_and_area_names_are_unique(lssc_text):
    spec = read_json(lssc_text)
    codes = [c.code.casefold() for area in spec.areas for c in area.competencies]
    assert len(codes) == len(set(codes))
    names = [area.name.casefold() for area in spec.areas]
    assert len(names) == len(set(names))


def test_shipped_framework_statements_are_not_empty(lssc_text):
    for area in read_json(lssc_text).areas:
        for competency in area.competencies:
            assert competency.statement.strip(), competency.code


# -- JSON round trip -------------------------------------------------------------


def test_json_round_trip_of_the_shipped_file_is_exact(lssc_text):
    assert write_json(read_json(lssc_text)) == lssc_text


def test_json_round_trip_from_bytes_is_exact(lssc_text):
    assert write_json(read_json(lssc_text.encode("utf-8"))) == lssc_text


def test_json_round_trip_keeps_every_field():
    spec = FrameworkSpec(
        name="Branch framework", description="Ours, with «quotes» and é.", version=7,
        status="active",
        rule=RuleSpec(electives_required=1, level_required=SupervisionLevel.MENTOR_AVAILABLE,
                      area_completion_percent=75, time_allowed_months=24),
        areas=[
            AreaSpec("Desk", AreaKind.REQUIRED, "Front of house", 12,
                     [CompetencySpec("D-1", "Greets patrons, politely.")]),
            AreaSpec("Stacks", AreaKind.ELECTIVE, "", None,
                     [CompetencySpec("S_1", "Shelves \"oversize\" books.")]),
        ],
    )
    assert read_json(write_json(spec)) == spec


def test_json_file_with_a_utf8_bom_is_accepted():
    data = json.dumps(valid_document()).encode("utf-8-sig")
    assert read_json(data).name == "Small framework"


def test_json_missing_rule_takes_the_defaults():
    document = valid_document()
    del document["rule"]
    document["areas"] += [
        {"name": f"Extra {n}", "kind": "elective",
         "competencies": [{"code": f"X-{n}", "statement": "Does it."}]}
        for n in range(2)
    ]
    assert read_json(json.dumps(document)).rule == RuleSpec()


# -- CSV round trip --------------------------------------------------------------


def test_csv_round_trip_of_the_shipped_framework(lssc_text):
    spec = read_json(lssc_text)
    back = read_csv(write_csv(spec), spec.name)
    assert back.name == spec.name
    assert back.areas == spec.areas  # names, kinds, descriptions, min_hours, competencies
    assert back.rule.electives_required == 3


def test_csv_round_trip_keeps_hours_descriptions_and_awkward_text():
    spec = FrameworkSpec(name="Awkward", areas=[
        AreaSpec("Desk, front", AreaKind.REQUIRED, "Says \"hello\", first.", 12,
                 [CompetencySpec("D-1", "Greets patrons; then, \"checks\" cards."),
                  CompetencySpec("D-2", "Two lines:\nfirst, then second.")]),
        AreaSpec("Stacks", AreaKind.ELECTIVE, "", 0, [CompetencySpec("S.1", "Shelves é.")]),
        AreaSpec("Events", AreaKind.ELECTIVE, "", None, [CompetencySpec("E_1", "Story time.")]),
    ])
    back = read_csv(write_csv(spec), spec.name)
    assert back.areas == spec.areas


def test_csv_read_from_bytes_gives_the_same_framework(lssc_text):
    spec = read_json(lssc_text)
    assert read_csv(write_csv(spec).encode("utf-8"), spec.name).areas == spec.areas


@pytest.mark.parametrize(("electives", "required"), [(0, 0), (1, 1), (3, 3), (5, 3)])
def test_csv_asks_for_up_to_three_electives(electives, required):
    rows = ["Desk,required,D-1,Greets patrons."]
    rows += [f"Elective {n},elective,E-{n},Does it." for n in range(electives)]
    spec = read_csv(HEADER + "\n".join(rows) + "\n", "Test")
    assert spec.rule.electives_required == required


@pytest.mark.parametrize(
    ("word", "kind"),
    [("required", AreaKind.REQUIRED), ("Yes", AreaKind.REQUIRED), ("TRUE", AreaKind.REQUIRED),
     ("y", AreaKind.REQUIRED), ("1", AreaKind.REQUIRED), ("elective", AreaKind.ELECTIVE),
     ("No", AreaKind.ELECTIVE), ("false", AreaKind.ELECTIVE), ("n", AreaKind.ELECTIVE),
     ("0", AreaKind.ELECTIVE), (" Elective ", AreaKind.ELECTIVE)],
)
def test_csv_required_column_accepts_plain_words(word, kind):
    spec = read_csv(f"area,required,code,statement\nDesk,{word},D-1,Greets patrons.\n", "T")
    assert spec.areas[0].kind == kind


def test_csv_header_names_are_case_insensitive_and_trimmed():
    text = (" AREA ,Required,Code, Statement ,MIN_HOURS,Area_Description\n"
            "Desk,yes,D-1,Greets.,5,Front\n")
    spec = read_csv(text, "Test")
    assert spec.areas == [AreaSpec("Desk", AreaKind.REQUIRED, "Front", 5,
                                   [CompetencySpec("D-1", "Greets.")])]


def test_csv_with_a_bom_is_accepted():
    data = (HEADER + "Desk,required,D-1,Greets patrons.,\n").encode("utf-8-sig")
    spec = read_csv(data, "Test")
    assert spec.areas[0].name == "Desk"
    assert spec.areas[0].competencies == [CompetencySpec("D-1", "Greets patrons.")]


def test_csv_blank_lines_are_skipped():
    text = (HEADER + "\nDesk,required,D-1,Greets patrons.,\n\n,,,,\n  ,  , ,,\n"
            "Desk,required,D-2,Issues loans.,\n\n")
    spec = read_csv(text, "Test")
    assert [c.code for c in spec.areas[0].competencies] == ["D-1", "D-2"]


def test_csv_blank_lines_still_count_for_line_numbers():
    text = HEADER + "\n\nDesk,required,D-1,Greets patrons.,\n\nDesk,required,D-1,Again.,\n"
    assert problems_of(read_csv, text, "Test") == [
        "line 6: duplicate code 'D-1' (first used line 4)."
    ]


def test_csv_rows_of_one_area_are_gathered_even_when_apart():
    text = HEADER + ("Desk,required,D-1,Greets.,\nStacks,no,S-1,Shelves.,\n"
                     "desk,required,D-2,Issues loans.,\n")
    spec = read_csv(text, "Test")
    assert [(a.name, [c.code for c in a.competencies]) for a in spec.areas] == [
        ("Desk", ["D-1", "D-2"]), ("Stacks", ["S-1"]),
    ]


# -- CSV problems ----------------------------------------------------------------


def test_csv_reports_every_different_problem_with_its_line():
    text = HEADER + (
        "Desk,required,D1,Greets patrons,\n"        # line 2: fine
        "Desk,required,D1,Shelves books,\n"         # line 3: duplicate code
        "Desk,required,D2,   ,\n"                   # line 4: empty statement
        "Stacks,sometimes,S1,Reads shelves,\n"      # line 5: unknown area type
        ",required,X1,Orphan competency,\n"         # line 6: empty area
        "Desk,elective,D3,Handles fines,\n"         # line 7: type differs from line 2
        "Outreach,elective,O1,Runs a story time,lots\n"  # line 8: bad min_hours
    )
    problems = problems_of(read_csv, text, "Test")
    assert len(problems) == 6
    expected_fragments = [
        ("line 3:", "duplicate code 'D1'", "line 2"),
        ("line 4:", "statement of D2 is empty"),
        ("line 5:", "unknown area type 'sometimes'"),
        ("line 6:", "the area is empty"),
        ("line 7:", "area 'Desk' is elective here but required on line 2"),
        ("line 8:", "min_hours 'lots' must be a whole number from 0 to 10000"),
    ]
    for fragments in expected_fragments:
        assert any(all(f in p for f in fragments) for p in problems), fragments


@pytest.mark.parametrize("hours", ["-5", "1.5", "ten", "5 hours"])
def test_csv_min_hours_must_be_a_whole_number(hours):
    text = HEADER + f"Desk,required,D-1,Greets patrons.,{hours}\n"
    assert problems_of(read_csv, text, "Test") == [
        f"line 2: min_hours {hours!r} must be a whole number from 0 to 10000."
    ]


def test_csv_min_hours_in_superscript_digits_is_a_problem_not_a_crash():
    text = HEADER + "Desk,required,D-1,Greets patrons.,²\n"
    problems = problems_of(read_csv, text, "Test")
    assert problems == ["line 2: min_hours '²' must be a whole number from 0 to 10000."]


def test_csv_and_json_agree_on_the_hours_limit():
    """A framework read from CSV can always be written as JSON and read back."""
    assert problems_of(read_csv, HEADER + "Desk,required,D-1,Greets patrons.,20000\n", "T") == [
        "line 2: min_hours '20000' must be a whole number from 0 to 10000."
    ]
    spec = read_csv(HEADER + "Desk,required,D-1,Greets patrons.,10000\n", "Test")
    assert read_json(write_json(spec)) == spec


def test_csv_problem_in_a_record_spanning_lines_names_the_line_it_starts_on():
    text = HEADER + 'Desk,required,D-1,"Two\nlines",\nDesk,required,D-1,Again.,\n'
    # The first D-1 record starts on line 2 (and ends on line 3).
    assert problems_of(read_csv, text, "Test") == [
        "line 4: duplicate code 'D-1' (first used line 2)."
    ]


def test_csv_missing_code_column_is_named_on_line_1():
    problems = problems_of(read_csv, "area,required,statement\nDesk,yes,Greets.\n", "Test")
    assert problems[0] == "line 1: missing column 'code'"
    assert len(problems) == 2
    assert "area, required, code, statement" in problems[1]


def test_csv_every_missing_column_is_named():
    problems = problems_of(read_csv, "Area,Code\nDesk,D-1\n", "Test")
    assert problems[:2] == ["line 1: missing column 'required'",
                            "line 1: missing column 'statement'"]


def test_csv_empty_file_names_every_column_as_missing():
    problems = problems_of(read_csv, "", "Test")
    assert problems[:4] == [f"line 1: missing column {c!r}"
                            for c in ("area", "required", "code", "statement")]


def test_csv_row_with_more_values_than_columns_is_a_problem():
    text = "area,required,code,statement\nDesk,yes,D-1,Greets,patrons\n"
    assert problems_of(read_csv, text, "Test") == ["line 2: more values than columns."]


def test_csv_framework_needs_a_name():
    assert problems_of(read_csv, HEADER + "Desk,yes,D-1,Greets.,\n", "  ") == [
        "The framework needs a name."
    ]


def test_csv_bad_code_is_named_with_its_line():
    problems = problems_of(read_csv, HEADER + "Desk,yes,D 1,Greets.,\n", "Test")
    assert len(problems) == 1
    assert problems[0].startswith("line 2: code 'D 1' must be")


def test_csv_over_the_size_limit_is_refused():
    data = (HEADER + "Desk,yes,D-1,Greets.,\n").encode() + b" " * MAX_FILE_BYTES
    assert problems_of(read_csv, data, "Test") == ["The file is larger than 2 MB."]


def test_csv_not_utf8_is_refused():
    data = (HEADER + "Café,yes,D-1,Greets.,\n").encode("latin-1")
    assert problems_of(read_csv, data, "Test") == [
        "The file is not UTF-8 text (save it as CSV UTF-8)."
    ]


# -- JSON problems ---------------------------------------------------------------


def test_valid_document_reads():
    spec = read_json(json.dumps(valid_document()))
    assert [a.name for a in spec.areas] == ["Desk", "Stacks", "Events"]
    assert spec.areas[1].min_hours == 10


def test_invalid_json_names_line_and_column():
    text = '{\n  "name": "x",\n  oops\n}'
    problems = problems_of(read_json, text)
    assert len(problems) == 1
    assert problems[0].startswith("line 3, column 3: not valid JSON")


def test_json_that_is_not_an_object_is_refused():
    assert problems_of(read_json, "[]") == [
        "The file must hold one JSON object (a framework)."
    ]


def test_deeply_nested_json_is_a_problem_not_a_crash():
    problems_of(read_json, "[" * 100_000)


def test_json_wrong_format_is_named():
    document = valid_document()
    document["format"] = "something-else"
    problems = json_problems(document)
    assert len(problems) == 1
    assert problems[0].startswith("format: expected 'apprentice-framework'")


def test_json_wrong_format_version_is_named():
    document = valid_document()
    document["format_version"] = 2
    assert json_problems(document) == [
        "format_version: this version reads version 1 files."
    ]


def test_json_unknown_area_kind_is_named_with_its_path():
    document = valid_document()
    document["areas"][0]["kind"] = "optional"
    problems = json_problems(document)
    assert len(problems) == 1
    assert problems[0].startswith("areas[0].kind: unknown area type 'optional'")


def test_json_duplicate_code_across_areas_is_named_with_both_places():
    document = valid_document()
    document["areas"][2]["competencies"][0]["code"] = "d-1"  # codes are case-insensitive
    assert json_problems(document) == [
        "areas[2].competencies[0]: duplicate code 'd-1' (first used areas[0].competencies[0])."
    ]


def test_json_empty_statement_is_named():
    document = valid_document()
    document["areas"][0]["competencies"][1]["statement"] = "   "
    assert json_problems(document) == [
        "areas[0].competencies[1]: the statement of D-2 is empty."
    ]


@pytest.mark.parametrize("level", ["expert", "Independent", 5, None])
def test_json_unknown_level_required_is_named(level):
    document = valid_document()
    document["rule"]["level_required"] = level
    problems = json_problems(document)
    assert len(problems) == 1
    assert problems[0].startswith("rule.level_required: must be one of observed, assisted")


def test_json_every_level_slug_reads():
    for level in SupervisionLevel:
        document = valid_document()
        document["rule"]["level_required"] = level.slug
        assert read_json(json.dumps(document)).rule.level_required == level


def test_json_more_electives_required_than_elective_areas_is_named():
    document = valid_document()
    document["rule"]["electives_required"] = 3
    assert json_problems(document) == [
        "The rule asks for 3 electives but the framework has only 2 elective area(s)."
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("electives_required", -1), ("electives_required", "2"), ("area_completion_percent", 0),
     ("area_completion_percent", 101), ("time_allowed_months", 0), ("time_allowed_months", True)],
)
def test_json_rule_numbers_out_of_range_are_named(field, value):
    document = valid_document()
    document["rule"][field] = value
    problems = json_problems(document)
    assert len(problems) == 1
    assert problems[0].startswith(f"rule.{field}: it must be a whole number")


@pytest.mark.parametrize("hours", [-1, 10_001, 2.5, "10"])
def test_json_min_hours_out_of_range_is_named(hours):
    document = valid_document()
    document["areas"][1]["min_hours"] = hours
    assert json_problems(document) == [
        "areas[1].min_hours: min_hours must be a whole number from 0 to 10000."
    ]


def test_json_area_without_competencies_is_named():
    document = valid_document()
    document["areas"][1]["competencies"] = []
    assert json_problems(document) == ["areas[1]: area 'Stacks' has no competencies."]


def test_json_area_named_twice_is_named():
    document = valid_document()
    document["areas"][2]["name"] = "STACKS"
    assert json_problems(document) == [
        "areas[2]: area 'STACKS' appears twice (also areas[1])."
    ]


def test_json_bad_status_is_named():
    document = valid_document()
    document["status"] = "published"
    assert json_problems(document) == ["status: must be draft, active or retired."]


def test_json_reports_every_problem_at_once():
    document = valid_document()
    document["format"] = "something-else"                          # 1
    document["rule"]["level_required"] = "expert"                  # 2
    document["rule"]["electives_required"] = 2
    document["areas"][1]["kind"] = "optional"                      # 3 (read as required)
    document["areas"][1]["competencies"] = [
        {"code": "D-1", "statement": "Shelves books."},            # 4 duplicate across areas
        {"code": "S-2", "statement": ""},                          # 5 empty statement
    ]
    # Only one elective is left (Events) for the two asked:           6
    problems = json_problems(document)
    assert len(problems) == 6, problems
    for start in ("format:", "rule.level_required:", "areas[1].kind: unknown area type",
                  "areas[1].competencies[0]: duplicate code 'D-1'",
                  "areas[1].competencies[1]: the statement of S-2 is empty",
                  "The rule asks for 2 electives but the framework has only 1"):
        assert any(p.startswith(start) for p in problems), start


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.update(rule=[]),
        lambda d: d.update(areas={}),
        lambda d: d["areas"].append("not an area"),
        lambda d: d["areas"][0].update(competencies="none"),
        lambda d: d["areas"][0]["competencies"].append(["D-9", "x"]),
        lambda d: d["areas"][0]["competencies"][0].update(code=12),
        lambda d: d.update(name=None),
        lambda d: d.update(version="one"),
    ],
)
def test_json_wrong_shapes_are_problems_never_exceptions(mangle):
    document = valid_document()
    mangle(document)
    assert json_problems(document)


def test_json_over_the_size_limit_is_refused():
    data = json.dumps(valid_document()).encode() + b" " * MAX_FILE_BYTES
    assert problems_of(read_json, data) == ["The file is larger than 2 MB."]


def test_json_at_the_size_limit_is_read():
    data = json.dumps(valid_document()).encode()
    data += b" " * (MAX_FILE_BYTES - len(data))
    assert read_json(data).name == "Small framework"


def test_json_not_utf8_is_refused():
    data = json.dumps(valid_document(), ensure_ascii=False).replace(
        "Greets patrons.", "Greets patrons at the café."
    ).encode("latin-1")
    assert problems_of(read_json, data) == ["The file is not UTF-8 text."]
