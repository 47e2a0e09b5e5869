"""Decision annexes: a batch of events in a CSV or YAML file, applied all-or-nothing.

Staff keep the annex of a decision (the list of units merged, renamed, dissolved...) as a
spreadsheet; ``merger apply`` reads it, checks every row against the register and the rules,
and either records every event in one transaction or refuses the file with every problem
and its line number. See docs/recording.md for the format.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import citation
from merger.errors import BadInput, DataError, ValidationFailed, Violation
from merger.i18n import _
from merger.parse_errors import csv_problem, yaml_problem
from merger.recording import BASES, EVENT_TYPES, Outcome, Spec, parse_shares

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from merger.register import Register

COLUMNS = ("event", "units", "into", "to", "type", "parent", "code", "shares", "basis", "effective",
           "act", "act_date", "issuer", "clause", "note", "evidence", "act_effective")
REQUIRED = ("event",)
DEFAULTS = ("effective", "act", "act_date", "act_effective", "issuer", "note", "evidence")
SEPARATOR = ";"
MAX_BYTES = 32 * 1024 * 1024  # an annex of 100,000 rows is ~10 MB; more is not a decision's annex
MAX_CELL = 1000  # characters in one cell (names are at most names.MAX_NAME; notes may be longer)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _date(value: Any, column: str) -> date | None:
    from merger.dates import plausible

    if value in (None, ""):
        return None
    if isinstance(value, date):
        return plausible(value, column)
    text = str(value).strip()
    parts = text.replace(".", "/").split("/")
    try:
        if len(parts) == 3 and len(parts[2]) == 4:
            return plausible(date(int(parts[2]), int(parts[1]), int(parts[0])), column)
        return plausible(date.fromisoformat(text), column)
    except ValueError:
        raise BadInput(_("{column} {value!r} is not a date (2025-07-01 or 1/7/2025)").format(column=column, value=text[:100])) from None


def _many(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(SEPARATOR) if part.strip()]


def _codes(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _many(value):
        name, sep, code = part.rpartition("=")
        out[name.strip() if sep else ""] = code.strip()
    return out


def to_spec(row: dict[str, Any], line: int, defaults: dict[str, Any]) -> Spec:
    """One annex row as a Spec; BadInput lists every problem of the row, each with its field."""
    spec, problems = _row(row, line, defaults)
    if problems:
        raise BadInput("; ".join(problems))
    assert spec is not None
    return spec


def _row(row: dict[str, Any], line: int, defaults: dict[str, Any]) -> tuple[Spec | None, list[str]]:
    """The row as a Spec, or every problem found in it ("field effective: ..."), not only the first."""
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
    for key in DEFAULTS:
        if values.get(key) in (None, "") and defaults.get(key) not in (None, ""):
            values[key] = defaults[key]
    problems: list[str] = []
    faulty: set[str] = set()  # the columns a problem was found in

    def said(column: str, detail: object) -> None:
        problems.append(_("field {column}: {exc}").format(column=column, exc=detail))
        faulty.add(column)

    def check(column: str, read: Any) -> Any:
        try:
            return read()
        except (BadInput, ValueError) as exc:
            said(column, exc)
            return None

    plain = all(isinstance(v, str) for v in values.values())
    joined = "".join(values.values()) if plain else ""
    for column, value in (() if plain and not _CONTROL.search(joined) and max(map(len, values.values()), default=0)
                          <= MAX_CELL else values.items()):
        for text in (value if isinstance(value, list) else [value]):
            if isinstance(text, str) and _CONTROL.search(text):
                said(column, _("contains an invisible or control character"))
                break
            if isinstance(text, str) and len(text) > MAX_CELL:
                said(column, _("{count:,} characters; at most {most:,}").format(count=len(text), most=MAX_CELL))
                break
            if text is not None and not isinstance(text, str | int | float | date):
                said(column, _("expected text, not a {kind}").format(kind=type(text).__name__))
                break
    kind = str(values.get("event") or "").strip().casefold()
    if not kind:
        said("event", _("the event column is empty"))
    elif kind not in EVENT_TYPES:
        said("event", _("unknown event {kind} (one of {known})").format(kind=repr(kind), known=", ".join(EVENT_TYPES)))
    effective = check("effective", lambda: _date(values.get("effective"), "effective"))
    if effective is None and "effective" not in faulty:
        said("effective", _("no effective date (column effective, or --effective)"))
    shares = check("shares", lambda: parse_shares(_many(values.get("shares"))))
    act_date = check("act_date", lambda: _date(values.get("act_date"), "act_date"))
    act_effective = check("act_effective", lambda: _date(values.get("act_effective"), "act_effective"))
    basis = str(values.get("basis") or "").strip().casefold() or None
    if basis is not None and basis not in BASES:
        said("basis", _("{basis} is not one of {known}").format(basis=repr(basis), known=", ".join(BASES)))
    clause = str(values.get("clause") or "").strip() or None
    check("clause", lambda: citation.parse(clause))
    if problems:
        return None, problems
    assert effective is not None
    return Spec(
        type=kind, effective=effective, units=_many(values.get("units")), into=_many(values.get("into")),
        to=str(values.get("to") or "").strip() or None, unit_type=str(values.get("type") or "").strip() or None,
        parent=str(values.get("parent") or "").strip() or None, codes=_codes(values.get("code")),
        shares=shares or {}, basis=basis, act=str(values.get("act") or "").strip() or None,
        act_date=act_date, act_effective=act_effective, issuer=str(values.get("issuer") or "").strip() or None,
        clause=clause, note=str(values.get("note") or ""),
        evidence=str(values.get("evidence") or "").strip() or None, line=line,
    ), []


def _read_csv(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[Violation]]:
    problems: list[Violation] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().casefold() for h in (reader.fieldnames or [])]
        unknown = [h for h in header if h and h not in COLUMNS]
        if unknown:
            problems.append(Violation("annex", _("line 1: unknown column(s) {join} (known: {join2})").format(join=', '.join(unknown), join2=', '.join(COLUMNS))))
        if "event" not in header:
            problems.append(Violation("annex", _("line 1: no 'event' column")))
            return [], problems
        rows = []
        for raw in reader:
            line = reader.line_num
            row = {(k or "").strip().casefold(): v for k, v in raw.items() if k}
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank spreadsheet row
            if None in raw:
                problems.append(Violation("annex", _("line {line}: more cells than columns").format(line=line)))
                continue
            rows.append((line, row))
    return rows, problems


MAX_YAML_DEPTH = 20  # levels of nesting an annex may have (it needs four)


def _read_yaml(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[Violation], dict[str, Any]]:
    import yaml

    # libyaml's parser where PyYAML has it (the same events, nodes and safe constructors; the
    # pure-Python scanner took ~0.25 s for a 114-row annex, read three times below)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = path.read_text(encoding="utf-8")
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            # An annex is a few levels deep (events, an event, its units). PyYAML's scanner takes
            # time growing with the square of the depth ("events: [[[[...": 3,000 levels, ~10 s to
            # refuse), so a deeper document is refused as soon as its depth is seen.
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise RecursionError
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            # An alias expands what its anchor holds: a few hundred bytes can stand for gigabytes.
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ValidationFailed([Violation("annex", _("line {value}: YAML anchors and aliases (&name, *name) are not accepted in an annex; write "
                                                             "each value out").format(value=event.start_mark.line + 1))])
        data = yaml.load(text, Loader=loader)  # noqa: S506  (a safe loader: SafeLoader or CSafeLoader)
        node = yaml.compose(text, Loader=loader)
    except (RecursionError, yaml.YAMLError) as exc:
        problem = str(getattr(exc, "problem", ""))
        if isinstance(exc, RecursionError) or "maximum nesting depth" in problem:  # (libyaml's own limit: 1,000)
            raise ValidationFailed([Violation("annex", _("the YAML is nested too deeply to be an annex"))]) from None
        mark = getattr(exc, "problem_mark", None)
        where = _("line {line}: ").format(line=mark.line + 1) if mark else ""
        raise ValidationFailed([Violation("annex", _("{where}not valid YAML ({getattr})").format(where=where, getattr=yaml_problem(exc)))]) from None
    except ValueError as exc:  # a YAML date that is no date: effective: 2025-02-30
        raise ValidationFailed([Violation("annex", _("not a valid annex: {exc} (a date such as 2025-02-30?)").format(exc=exc))]) from None
    defaults: dict[str, Any] = {}
    items_node = node
    if isinstance(data, dict):
        defaults = {k: v for k, v in data.items() if k != "events"}
        act = defaults.get("act")
        if isinstance(act, dict):  # act: {number:, date:, issuer:}
            defaults.update(act=act.get("number"), act_date=act.get("date"), issuer=act.get("issuer"))
        data = data.get("events")
        items_node = next((v for k, v in node.value if k.value == "events"), None) if node is not None else None
    if not isinstance(data, list) or items_node is None:
        raise ValidationFailed([Violation("annex", _("line 1: expected a list of events (or a mapping with 'events:')"))])
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[Violation] = []
    for item, inode in zip(data, items_node.value, strict=True):
        line = inode.start_mark.line + 1
        if not isinstance(item, dict):
            problems.append(Violation("annex", _("line {line}: an event must be a mapping (event: ..., units: ...)").format(line=line)))
            continue
        unknown = [k for k in item if str(k).casefold() not in COLUMNS]
        if unknown:
            problems.append(Violation("annex", _("line {line}: unknown field(s) {join}").format(line=line, join=', '.join(map(str, unknown)))))
            continue
        rows.append((line, {str(k).casefold(): v for k, v in item.items()}))
    return rows, problems, defaults


def read(path: Path, defaults: dict[str, Any] | None = None) -> tuple[list[Spec], list[Violation]]:
    """The annex's events and the problems found reading it (each with its line number)."""
    if not path.exists():
        raise DataError(_("no annex file at {path}").format(path=path))
    suffix = path.suffix.casefold()
    file_defaults: dict[str, Any] = {}
    if suffix not in (".csv", ".yaml", ".yml"):
        raise BadInput(_("{name}: an annex is a .csv, .yaml or .yml file").format(name=path.name))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadInput(_("cannot read {path}: {value}").format(path=path, value=exc.strerror or exc)) from None
    if size > MAX_BYTES:
        raise BadInput(_("{name} is {value:,.1f} MB; an annex may be at most {value2} MB (split it into several "
                         "annexes)").format(name=path.name, value=size / 2**20, value2=MAX_BYTES // 2**20))
    try:
        if suffix == ".csv":
            rows, problems = _read_csv(path)
        else:
            rows, problems, file_defaults = _read_yaml(path)
    except UnicodeDecodeError:
        raise BadInput(_("{path} is not UTF-8 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8)").format(path=path)) from None
    except csv.Error as exc:
        raise BadInput(_("{name} is not a readable CSV annex ({exc})").format(name=path.name, exc=csv_problem(exc))) from None
    except OSError as exc:
        raise BadInput(_("cannot read {path}: {value}").format(path=path, value=exc.strerror or exc)) from None
    merged = {**file_defaults, **{k: v for k, v in (defaults or {}).items() if v not in (None, "")}}
    specs: list[Spec] = []
    for line, row in rows:
        spec, found = _row(row, line, merged)
        if spec is not None:
            specs.append(spec)
        problems += [Violation("annex", _("line {line}, {p}").format(line=line, p=p)) for p in found]
    return specs, problems


def _line(v: Violation) -> int:
    text = v.message
    if text.startswith("line "):
        number = text[5:].split(":", 1)[0].split(",", 1)[0]
        if number.isdigit():
            return int(number)
    return 0


def apply(reg: Register, path: Path, *, by: str | None = None, dry_run: bool = False,
          defaults: dict[str, Any] | None = None, at: datetime | None = None,
          progress: Callable[[str, int, int], None] | None = None) -> Outcome:
    """Apply the annex atomically, or raise ValidationFailed listing every problem by line."""
    specs, problems = read(path, defaults)
    if not specs and not problems:
        raise ValidationFailed([Violation("annex", _("{name} holds no events").format(name=path.name))])
    if problems:
        # Report the rows' own problems too, not only the file's: plan the readable rows, write nothing.
        if specs:
            try:
                reg.apply(specs, by=by, dry_run=True, at=at)
            except ValidationFailed as exc:
                problems += exc.violations
        raise ValidationFailed(sorted(problems, key=_line))
    return reg.apply(specs, by=by, dry_run=dry_run, at=at, origin=f"annex:{path.name}", progress=progress)
