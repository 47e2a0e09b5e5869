"""Invariants over the whole bundled register, checked independently of merger.checks."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from merger.checks import check


def test_check_is_clean_on_the_bundled_register(national) -> None:  # type: ignore[no-untyped-def]
    assert check(national.snapshot) == []


def test_no_overlapping_periods_for_one_identity(national) -> None:  # type: ignore[no-untyped-def]
    for versions in national.snapshot.by_unit.values():
        for a, b in zip(versions, versions[1:], strict=False):
            assert a.valid_to is not None and b.valid_from is not None and a.valid_to < b.valid_from


def test_every_successor_valid_the_day_its_predecessor_ends(national) -> None:  # type: ignore[no-untyped-def]
    for link in national.snapshot.links:
        if link.pred and link.succ:
            assert link.succ.valid_from == link.pred.valid_to + timedelta(days=1)


def test_no_unit_is_its_own_successor(national) -> None:  # type: ignore[no-untyped-def]
    assert all(link.pred is None or link.succ is None or link.pred.id != link.succ.id
               for link in national.snapshot.links)


def test_given_shares_sum_to_at_most_one(national) -> None:  # type: ignore[no-untyped-def]
    totals: dict[tuple[int, str], float] = defaultdict(float)
    for link in national.snapshot.links:
        if link.share is not None:
            totals[(link.pred.id, link.share_basis)] += link.share
    assert totals, "the NSO 'toàn bộ dân số' notes give population shares"
    assert all(0 < t <= 1 for t in totals.values())


def test_every_old_unit_has_a_fate(national) -> None:  # type: ignore[no-untyped-def]
    snap = national.snapshot
    ended = [v for v in snap.valid_on(date(2025, 6, 30)) if v.valid_to == date(2025, 6, 30)]
    assert Counter(v.level for v in ended) == {"commune": 10_035, "district": 696, "province": 63}
    assert all(snap.successors(v) for v in ended)


def test_every_new_commune_carries_its_resolution_and_clause(national) -> None:  # type: ignore[no-untyped-def]
    snap = national.snapshot
    new = [v for v in snap.valid_on(date(2025, 7, 1)) if v.level == "commune"]
    assert len(new) == 3_321
    for v in new:
        events = {link.event.id: link.event for link in snap.predecessors(v)}
        assert len(events) == 1
        ev = next(iter(events.values()))
        assert ev.act is not None and ev.act.number.endswith("/NQ-UBTVQH15")
        assert ev.clause, v.key  # every unit: its khoản of Article 1 (unchanged ones: the closing clause)
    hp = [v for v in new if snap.parent_of(v).code == "31"]
    assert len(hp) == 114
    assert {next(iter(snap.predecessors(v))).event.act.number for v in hp} == {"1669/NQ-UBTVQH15"}
    clauses = sorted(int(snap.predecessors(v)[0].event.clause) for v in hp)
    assert clauses == list(range(1, 115))


def test_code_reused_for_other_territory(national) -> None:  # type: ignore[no-untyped-def]
    snap = national.snapshot
    assert [(v.full_name, v.valid_to) for v in snap.by_code["52"]] == [
        ("Tỉnh Bình Định", date(2025, 6, 30)), ("Tỉnh Gia Lai", None)]
    assert len({v.unit_id for v in snap.by_code["11533"]}) == 2
