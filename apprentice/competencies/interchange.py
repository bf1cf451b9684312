"""Frameworks to and from files: JSON (full fidelity) and CSV (one row per competency).

Reading a file gives a :class:`FrameworkSpec` or a :class:`FileProblems` listing
*every* problem with where it is (line, row or JSON path), so a coordinator
fixes the file in one go. Nothing touches the database here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from apprentice.competencies.models import AreaKind, SupervisionLevel
from apprentice.csvsafe import from_spreadsheet, safe_row

FORMAT = "apprentice-framework"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NAME = 200
MAX_STATEMENT = 1000
MAX_CODE = 20
MAX_HOURS = 10_000
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CSV_COLUMNS = ("area", "required", "code", "statement")
KIND_WORDS = {
    "required": AreaKind.REQUIRED, "yes": AreaKind.REQUIRED, "true": AreaKind.REQUIRED,
    "y": AreaKind.REQUIRED, "1": AreaKind.REQUIRED,
    "elective": AreaKind.ELECTIVE, "no": AreaKind.ELECTIVE, "false": AreaKind.ELECTIVE,
    "n": AreaKind.ELECTIVE, "0": AreaKind.ELECTIVE,
}


@dataclass
class RuleSpec:
    electives_required: int = 3
    level_required: SupervisionLevel = SupervisionLevel.INDEPENDENT
    area_completion_percent: int = 100
    time_allowed_months: int = 48


@dataclass
class CompetencySpec:
    code: str
    statement: str


@dataclass
class AreaSpec:
    name: str
    kind: AreaKind
    description: str = ""
    min_hours: int | None = None
    competencies: list[CompetencySpec] = field(default_factory=list)


@dataclass
class FrameworkSpec:
    name: str
    description: str = ""
    version: int = 1
    status: str = "draft"
    rule: RuleSpec = field(default_factory=RuleSpec)
    areas: list[AreaSpec] = field(default_factory=list)


class FileProblems(Exception):
    """A framework file refused whole; ``problems`` says where and what, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# -- checks shared by both formats ---------------------------------------------

def _check_size(data: bytes | str) -> None:
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > MAX_FILE_BYTES:
        raise FileProblems([f"The file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB."])
    if (b"\x00" if isinstance(data, bytes) else "\x00") in data:
        raise FileProblems(["The file holds a NUL character: it is not a text file."])


def _check_spec(spec: FrameworkSpec, where_area, where_competency) -> list[str]:
    """Rules every framework file must keep, wherever it came from."""
    problems = []
    if not spec.name.strip():
        problems.append("The framework needs a name.")
    elif len(spec.name) > MAX_NAME:
        problems.append(f"The framework name is longer than {MAX_NAME} characters.")
    if not spec.areas:
        problems.append("The framework has no competency areas.")
    seen_areas: dict[str, str] = {}
    seen_codes: dict[str, str] = {}
    for a, area in enumerate(spec.areas):
        here = where_area(a)
        if not area.name.strip():
            problems.append(f"{here}: the area has no name.")
        elif len(area.name) > MAX_NAME:
            problems.append(f"{here}: the area name is longer than {MAX_NAME} characters.")
        elif area.name.casefold() in seen_areas:
            problems.append(f"{here}: area {area.name!r} appears twice "
                            f"(also {seen_areas[area.name.casefold()]}).")
        else:
            seen_areas[area.name.casefold()] = here
        if not area.competencies:
            problems.append(f"{here}: area {area.name!r} has no competencies.")
        for c, competency in enumerate(area.competencies):
            at = where_competency(a, c)
            code = competency.code.strip()
            if not code:
                problems.append(f"{at}: the competency has no code.")
            elif len(code) > MAX_CODE or not CODE_PATTERN.match(code):
                problems.append(f"{at}: code {code!r} must be 1-{MAX_CODE} letters, digits, "
                                "dots, dashes or underscores.")
            elif code.casefold() in seen_codes:
                problems.append(f"{at}: duplicate code {code!r} "
                                f"(first used {seen_codes[code.casefold()]}).")
            else:
                seen_codes[code.casefold()] = at
            if not competency.statement.strip():
                problems.append(f"{at}: the statement of {code or 'this competency'} is empty.")
            elif len(competency.statement) > MAX_STATEMENT:
                problems.append(f"{at}: the statement is longer than {MAX_STATEMENT} characters.")
    rule = spec.rule
    electives = sum(1 for area in spec.areas if area.kind == AreaKind.ELECTIVE)
    if rule.electives_required > electives:
        problems.append(f"The rule asks for {rule.electives_required} electives but the "
                        f"framework has only {electives} elective area(s).")
    return problems


def _text(value, problems, where, what, *, required=True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}: {what} must be text.")
        return ""
    if "\x00" in value:
        problems.append(f"{where}: {what} holds a NUL character (\\u0000).")
        return ""
    return value.strip()


def _shaped(value, kind: type, problems, message: str):
    """``value`` if it is a ``kind`` (dict or list), else an empty one, noting ``message``."""
    if isinstance(value, kind):
        return value
    problems.append(message)
    return kind()


def _int(value, problems, where, what, low, high, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where}: {what} must be a whole number from {low} to {high}.")
        return None
    return value


# -- JSON ----------------------------------------------------------------------

def read_json(data: bytes | str) -> FrameworkSpec:
    """Parse a JSON framework file, or raise :class:`FileProblems` with every problem."""
    _check_size(data)
    try:
        raw = json.loads(data)
    except RecursionError:
        raise FileProblems(["The JSON is nested too deeply to be a framework."]) from None
    except UnicodeDecodeError:
        raise FileProblems(["The file is not UTF-8 text."]) from None
    except json.JSONDecodeError as exc:
        raise FileProblems([f"line {exc.lineno}, column {exc.colno}: not valid JSON "
                            f"({exc.msg})."]) from None
    if not isinstance(raw, dict):
        raise FileProblems(["The file must hold one JSON object (a framework)."])
    problems: list[str] = []
    if raw.get("format") != FORMAT:
        problems.append(f"format: expected {FORMAT!r}; is this an apprentice framework file?")
    if raw.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        problems.append(f"format_version: this version reads version {FORMAT_VERSION} files.")
    spec = FrameworkSpec(
        name=_text(raw.get("name"), problems, "name", "the name"),
        description=_text(raw.get("description"), problems, "description", "the description",
                          required=False),
        version=_int(raw.get("version", 1), problems, "version", "the version", 1, 10**6) or 1,
        status=raw.get("status", "draft"),
    )
    if spec.status not in ("draft", "active", "retired"):
        problems.append("status: must be draft, active or retired.")
        spec.status = "draft"
    rule = _shaped(raw.get("rule", {}), dict, problems, "rule: must be an object.")
    level = rule.get("level_required", "independent")
    try:
        level = SupervisionLevel.from_slug(level)
    except (ValueError, AttributeError):
        problems.append("rule.level_required: must be one of "
                        + ", ".join(level.slug for level in SupervisionLevel) + ".")
        level = SupervisionLevel.INDEPENDENT
    spec.rule = RuleSpec(
        electives_required=_int(rule.get("electives_required", 3), problems,
                                "rule.electives_required", "it", 0, 100) or 0,
        level_required=level,
        area_completion_percent=_int(rule.get("area_completion_percent", 100), problems,
                                     "rule.area_completion_percent", "it", 1, 100) or 100,
        time_allowed_months=_int(rule.get("time_allowed_months", 48), problems,
                                 "rule.time_allowed_months", "it", 1, 600) or 48,
    )
    areas = _shaped(raw.get("areas"), list, problems, "areas: must be a list of competency areas.")
    for a, area in enumerate(areas):
        where = f"areas[{a}]"
        if not isinstance(area, dict):
            problems.append(f"{where}: must be an object.")
            continue
        kind = area.get("kind")
        if kind not in (AreaKind.REQUIRED.value, AreaKind.ELECTIVE.value):
            problems.append(f"{where}.kind: unknown area type {kind!r} "
                            "(use 'required' or 'elective').")
            kind = AreaKind.REQUIRED.value
        spec_area = AreaSpec(
            name=_text(area.get("name"), problems, f"{where}.name", "the name"),
            kind=AreaKind(kind),
            description=_text(area.get("description"), problems, f"{where}.description",
                              "the description", required=False),
            min_hours=_int(area.get("min_hours"), problems, f"{where}.min_hours",
                           "min_hours", 0, MAX_HOURS, allow_none=True),
        )
        competencies = _shaped(area.get("competencies"), list, problems,
                               f"{where}.competencies: must be a list.")
        for c, competency in enumerate(competencies):
            at = f"{where}.competencies[{c}]"
            if not isinstance(competency, dict):
                problems.append(f"{at}: must be an object with code and statement.")
                continue
            spec_area.competencies.append(CompetencySpec(
                code=_text(competency.get("code"), problems, f"{at}.code", "the code"),
                statement=_text(competency.get("statement"), problems, f"{at}.statement",
                                "the statement"),
            ))
        spec.areas.append(spec_area)
    problems += _check_spec(
        spec,
        lambda a: f"areas[{a}]",
        lambda a, c: f"areas[{a}].competencies[{c}]",
    )
    if problems:
        raise FileProblems(problems)
    return spec


def write_json(spec: FrameworkSpec) -> str:
    """The JSON text of a framework; reading it back gives the same spec."""
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": spec.name,
        "version": spec.version,
        "status": spec.status,
        "description": spec.description,
        "rule": {
            "electives_required": spec.rule.electives_required,
            "level_required": spec.rule.level_required.slug,
            "area_completion_percent": spec.rule.area_completion_percent,
            "time_allowed_months": spec.rule.time_allowed_months,
        },
        "areas": [
            {
                "name": area.name,
                "kind": area.kind.value,
                "description": area.description,
                "min_hours": area.min_hours,
                "competencies": [
                    {"code": c.code, "statement": c.statement} for c in area.competencies
                ],
            }
            for area in spec.areas
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# -- CSV -----------------------------------------------------------------------

def read_csv(data: bytes | str, name: str) -> FrameworkSpec:
    """Parse a CSV framework (area, required, code, statement; optional
    area_description and min_hours columns). Rows of one area must agree on its type."""
    _check_size(data)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FileProblems(["The file is not UTF-8 text (save it as CSV UTF-8)."]) from None
    data = data.removeprefix("\ufeff")
    consumed: list[tuple[int, str]] = []  # the lines the reader took for the current row

    def numbered_lines():
        for number, text in enumerate(io.StringIO(data, newline=""), start=1):
            consumed.append((number, text))
            yield text

    reader = csv.DictReader(numbered_lines())
    header = [column.strip().lower() for column in (reader.fieldnames or [])]
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise FileProblems([f"line 1: missing column {column!r}" for column in missing]
                           + [f"The first line must name the columns: {', '.join(CSV_COLUMNS)}."])
    reader.fieldnames = header
    problems: list[str] = []
    spec = FrameworkSpec(name=name.strip())
    areas: dict[str, AreaSpec] = {}
    first_line: dict[str, int] = {}
    lines: dict[str, list[int]] = {}  # per area, the line of each competency
    consumed.clear()  # the header
    try:
        for row in reader:
            # A quoted value may span lines: a row is named by its first non-blank line.
            line = next((n for n, text in consumed if text.strip()), reader.line_num)
            consumed.clear()
            _read_csv_row(row, line, spec, areas, first_line, lines, problems)
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    where = list(lines.values())
    # A CSV file has no rule: ask for up to three electives until a coordinator sets it.
    electives = sum(1 for area in spec.areas if area.kind == AreaKind.ELECTIVE)
    spec.rule.electives_required = min(spec.rule.electives_required, electives)
    problems += _check_spec(
        spec, lambda a: f"line {where[a][0]}", lambda a, c: f"line {where[a][c]}"
    )
    if problems:
        raise FileProblems(problems)
    return spec


def _read_csv_row(row, line, spec, areas, first_line, lines, problems) -> None:
    """Add one CSV row to ``spec``, noting its problems."""
    if None in row:
        problems.append(f"line {line}: more values than columns.")
    # The apostrophe an export put before a formula-like cell is taken off again.
    values = {key: from_spreadsheet((value or "").strip()).strip()
              for key, value in row.items() if key is not None}
    if not any(values.values()):
        return  # blank lines are allowed
    area_name = values.get("area", "")
    kind = KIND_WORDS.get(values.get("required", "").lower())
    if kind is None:
        problems.append(f"line {line}: unknown area type {values.get('required', '')!r} "
                        "in column 'required' (use required/elective or yes/no).")
    if not area_name:
        problems.append(f"line {line}: the area is empty.")
        return
    key = area_name.casefold()
    if key not in areas:
        hours_text = values.get("min_hours", "")
        hours = int(hours_text) if hours_text.isascii() and hours_text.isdigit() else None
        if hours_text and (hours is None or hours > MAX_HOURS):
            problems.append(f"line {line}: min_hours {hours_text!r} must be a whole number "
                            f"from 0 to {MAX_HOURS}.")
        areas[key] = AreaSpec(name=area_name, kind=kind or AreaKind.REQUIRED,
                              description=values.get("area_description", ""), min_hours=hours)
        first_line[key] = line if kind else None  # None: type not known yet
        lines[key] = []
        spec.areas.append(areas[key])
    elif kind is not None and first_line[key] is None:
        areas[key].kind, first_line[key] = kind, line
    elif kind is not None and areas[key].kind != kind:
        problems.append(f"line {line}: area {area_name!r} is {kind.value} here but "
                        f"{areas[key].kind.value} on line {first_line[key]}.")
    areas[key].competencies.append(
        CompetencySpec(code=values.get("code", ""), statement=values.get("statement", ""))
    )
    lines[key].append(line)


def write_csv(spec: FrameworkSpec) -> str:
    """One row per competency, with the area's description and hours on each row. A cell
    a spreadsheet would run as a formula gets an apostrophe (read_csv takes it off)."""
    out = io.StringIO()
    # CR LF ends a row (RFC 4180): the writer quotes a cell holding either character.
    # With "\n" alone, a carriage return inside a statement was written bare, and the
    # file split that row in two when read back (or opened in a spreadsheet).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, "area_description", "min_hours"])
    for area in spec.areas:
        for competency in area.competencies:
            writer.writerow(safe_row([
                area.name, area.kind.value, competency.code, competency.statement,
                area.description, "" if area.min_hours is None else area.min_hours,
            ]))
    return out.getvalue()
