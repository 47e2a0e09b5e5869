"""Helpers for tests/test_draft.py: the register of 30 June 2025 and the bundled events to compare.

"A register holding only the state of 30 June 2025" is the bundled data/units/ without anything
that starts on 1 July 2025: the versions that begin that day, the events of that day and their
links and statistics are left out, and the versions that ended on 30 June are open again. The
legal acts stay (the drafted annexes cite them). This is what a Department's register looked like
before the reform was recorded, built from the same real data.
"""

from __future__ import annotations

import atexit
import csv
import functools
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from merger import bundle, store
from merger.draft.build import Drafted
from merger.names import spelling
from merger.register import Register

REFORM = "2025-07-01"
EVE = "2025-06-30"


def before_bundle(out: Path, reform: str = REFORM) -> Path:
    """Write the bundle of the eve of ``reform`` (see the module's docstring) into ``out``: for
    "2025-03-01", the register before Hải Dương's departments merged (and before everything later)."""
    eve = (date.fromisoformat(reform) - timedelta(days=1)).isoformat()
    src = bundle.units_dir()
    rows = {name: bundle.read(src, name) for name in bundle.BUNDLE_FILES}
    versions = [dict(r, valid_to="" if r["valid_to"] >= eve else r["valid_to"]) for r in rows["versions"]
                if not r["valid_from"] or r["valid_from"] < reform]
    keys = {r["key"] for r in versions}
    events = [r for r in rows["events"] if r["effective"] < reform]
    kept_events = {r["key"] for r in events}
    keep = dict(acts=rows["acts"], versions=versions, events=events,
                links=[r for r in rows["links"] if r["event"] in kept_events],
                statistics=[r for r in rows["statistics"] if r["version"] in keys])
    out.mkdir(parents=True, exist_ok=True)
    for name in bundle.BUNDLE_FILES:
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(bundle.FIELDS[name]), lineterminator="\n")
            w.writeheader()
            w.writerows(keep[name])
    # The agencies (data/units/agencies/), cut at the same day.
    agencies = bundle.read_agencies(src)
    a_versions = [dict(r, valid_to="" if r["valid_to"] >= eve else r["valid_to"]) for r in agencies["versions"]
                  if not r["valid_from"] or r["valid_from"] < reform]
    a_events = [r for r in agencies["events"] if r["effective"] < reform]
    kept = {r["key"] for r in a_events}
    a_keep = dict(acts=agencies["acts"], versions=a_versions, events=a_events,
                  links=[r for r in agencies["links"] if r["event"] in kept])
    (out / bundle.AGENCY_DIR).mkdir(exist_ok=True)
    for name in bundle.AGENCY_FILES:
        with (out / bundle.AGENCY_DIR / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(bundle.AGENCY_FIELDS[name]), lineterminator="\n")
            w.writeheader()
            w.writerows(a_keep[name])
    return out


@functools.cache
def _eve(reform: str) -> Path:
    """A folder (one per test process and reform, removed when the process ends) with the eve's
    bundle (``bundle/``) and the SQLite register built from it (``before.sqlite``): the tests ask
    for the same eve up to six times, and a copy of the file is ~1.5 s cheaper than a build."""
    folder = Path(tempfile.mkdtemp(prefix=f"merger-eve-{reform}-"))
    atexit.register(shutil.rmtree, folder, True)
    engine = store.make_engine(f"sqlite:///{folder / 'before.sqlite'}")
    try:
        store.load_bundle(engine, before_bundle(folder / "bundle", reform))
    finally:
        engine.dispose()
    return folder


def before_register(folder: Path, url: str | None = None, reform: str = REFORM) -> Register:
    """The register of the eve of ``reform`` (default 30 June 2025) in a new database (default: a
    SQLite file in ``folder``). A new SQLite file is a copy of the one built from the eve's
    bundle; any other database is loaded from that bundle."""
    url = url or f"sqlite:///{folder / 'before.sqlite'}"
    eve = _eve(reform)
    path = store.sqlite_file(url)
    if path is not None and not path.exists():
        shutil.copyfile(eve / "before.sqlite", path)
        return Register(url, store.make_engine(url))
    engine = store.make_engine(url)
    store.load_bundle(engine, eve / "bundle")
    return Register(url, engine)


@dataclass(frozen=True)
class Unit:
    """A new (or moved) unit of 1 July 2025 as an act makes it: where from, by which clause."""

    clause: str
    preds: frozenset[tuple[str | None, str]]  # (old version key, "whole" or "part")


@functools.cache
def _rows() -> tuple[dict[str, dict[str, str]], list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """The bundled versions, events and links by event, read once per test session."""
    src = bundle.units_dir()
    links: dict[str, list[dict[str, str]]] = {}
    for r in bundle.read(src, "links"):
        links.setdefault(r["event"], []).append(r)
    return {r["key"]: r for r in bundle.read(src, "versions")}, bundle.read(src, "events"), links


def bundled(act: str) -> dict[tuple[str, str], Unit]:
    """The bundled events of ``act`` by (type, name) of the unit they make."""
    versions, all_events, all_links = _rows()
    events = {r["key"]: r for r in all_events if r["act"] == act and r["effective"] == REFORM}
    links = {key: all_links.get(key, []) for key in events}
    out: dict[tuple[str, str], Unit] = {}
    for key, ev in events.items():
        succ = {lk["successor"] for lk in links.get(key, []) if lk["successor"]}
        for s in succ:
            v = versions[s]
            preds = frozenset((lk["predecessor"] or None, lk["portion"]) for lk in links[key]
                              if lk["successor"] == s)
            out[(v["type"], spelling(v["name"]))] = Unit(ev["clause"], preds)
    return out


def drafted_units(d: Drafted) -> dict[tuple[str, str], Unit]:
    """The drafted annex's rows in the same shape as ``bundled``."""
    out: dict[tuple[str, str], Unit] = {}
    for r in d.rows:
        names = [r.clause.new_name or ""]
        if r.event == "move" and r.found and r.found[0].version is not None:
            names.append(r.found[0].version.name)  # a unit left unchanged: the text's or the register's spelling
        preds = frozenset((f.version.key if f.version else None, "whole" if f.pred.portion == "whole" else "part")
                          for f in r.found)
        for name in names:
            out[(r.clause.new_type or "", spelling(name))] = Unit(str(r.clause.number), preds)
    return out


def agreement(d: Drafted) -> tuple[int, int, list[str]]:
    """(units the draft reproduces exactly, units in the bundle, the differences explained)."""
    want = bundled(d.act)
    got = drafted_units(d)
    same, diffs = 0, []
    for key, unit in sorted(want.items()):
        mine = got.get(key)
        if mine == unit:
            same += 1
        elif mine is None:
            diffs.append(f"{key[0]} {key[1]}: no drafted row makes it (the text names it otherwise)")
        else:
            what = [w for w, a, b in (("clause", mine.clause, unit.clause), ("predecessors", mine.preds, unit.preds))
                    if a != b]
            diffs.append(f"{key[0]} {key[1]}: {', '.join(what)} differ: drafted {mine}, bundled {unit}")
    return same, len(want), diffs


def review_with_bundle(d: Drafted) -> tuple[int, int]:
    """Play the reviewer with the NSO conversion table (the bundled events): for every name the
    draft left unresolved, take the candidate the table names as a predecessor of the same new
    unit, if the draft listed it. Returns (names reviewed, names whose truth was not a candidate)."""
    want = bundled(d.act)
    versions = _rows()[0]
    done = missed = 0
    for r in d.rows:
        unit = want.get((r.clause.new_type or "", spelling(r.clause.new_name or "")))
        truth = {k for k, _ in unit.preds} - {f.version.key for f in r.found if f.version} - {None} if unit else set()
        # an area no commune held (the table links the district it lay in): not a unit to name here
        truth = {k for k in truth if versions[k]["level"] == "commune"}
        for f in list(r.found):
            if f.version is not None:
                continue
            pick = [c for c in f.candidates if c.key in truth]
            if len(pick) == 1:
                f.version, f.problem = pick[0], None
                done += 1
            elif unit is not None and not truth:
                r.found.remove(f)  # the text names an area that is no commune (Trường bắn TB1)
                done += 1
            else:
                missed += 1
    return done, missed
