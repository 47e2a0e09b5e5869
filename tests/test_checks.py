"""Every integrity rule catches its violation on a small factory register."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import Builder, tiny_reform


def _rules(reg) -> set[str]:  # type: ignore[no-untyped-def]
    """The rules broken; the rows' verdicts (Register.check, merger.check_rows) are the objects' (merger.checks)."""
    from merger.checks import check

    found = reg.check()
    assert [(v.rule, v.message, v.subjects) for v in found] == [(v.rule, v.message, v.subjects) for v in check(reg.snapshot)]
    return {v.rule for v in found}


def test_tiny_reform_is_clean(build) -> None:  # type: ignore[no-untyped-def]
    assert _rules(build(tiny_reform())) == set()


def _province(b: Builder) -> str:
    return b.version("01", "Tỉnh Thử", "tỉnh", "province", valid_to="2030-12-31")


def test_overlapping_versions_of_one_unit(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    a = b.version("00001", "Xã A", "xã", "commune", valid_to="2025-06-30")
    b.version("00001", "Xã A", "xã", "commune", unit=a, valid_from="2025-06-01")
    assert "overlapping-identity" in _rules(build(b))


def test_code_held_by_two_units_at_once(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    b.version("00001", "Xã A", "xã", "commune", valid_to="2025-06-30")
    b.version("00001", "Xã B", "xã", "commune", valid_to="2025-05-31")
    assert "overlapping-code" in _rules(build(b))


def test_successor_must_start_the_day_after(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    a = b.version("00001", "Xã A", "xã", "commune", valid_to="2025-06-30")
    n = b.version("00002", "Xã N", "xã", "commune", valid_from="2025-07-05")
    b.event("E", "merge", "2025-07-05", [(a, n, "whole", "whole")])
    assert {"successor-gap", "event-date"} <= _rules(build(b))


def test_ended_unit_without_fate_and_new_unit_without_origin(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    b.version("00001", "Xã A", "xã", "commune", valid_to="2025-06-30")
    b.version("00002", "Xã N", "xã", "commune", valid_from="2025-07-01")
    assert {"no-fate", "no-origin"} <= _rules(build(b))


def test_shares_over_one(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    a = b.version("00001", "Xã A", "xã", "commune", valid_to="2025-06-30")
    x = b.version("00002", "Xã X", "xã", "commune", valid_from="2025-07-01")
    y = b.version("00003", "Xã Y", "xã", "commune", valid_from="2025-07-01")
    b.event("E", "split", "2025-07-01", [(a, x, "part", "part", 0.7, "area"), (a, y, "part", "part", 0.6, "area")])
    assert "shares" in _rules(build(b))


def test_shares_of_a_full_split_must_sum_to_one(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    a = b.version("00001", "Xã A", "xã", "commune", valid_to="2025-06-30")
    x = b.version("00002", "Xã X", "xã", "commune", valid_from="2025-07-01")
    y = b.version("00003", "Xã Y", "xã", "commune", valid_from="2025-07-01")
    b.event("E", "split", "2025-07-01", [(a, x, "part", "part", 0.5, "area"), (a, y, "part", "part", 0.4, "area")])
    assert "shares" in _rules(build(b))


def test_parent_must_be_valid_throughout(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    p = b.version("01", "Tỉnh Thử", "tỉnh", "province", valid_to="2025-06-30")
    b.version("00001", "Xã A", "xã", "commune", parent=p, valid_from="2025-07-01")
    assert "parent-validity" in _rules(build(b))


def test_parent_of_the_wrong_level(build) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    c = b.version("00001", "Xã A", "xã", "commune", valid_to="2030-12-31")
    b.version("00002", "Xã B", "xã", "commune", parent=c, valid_to="2030-12-31")
    assert "parent-level" in _rules(build(b))


@pytest.mark.parametrize("self_loop", [True, False])
def test_cycles_and_own_successor(build, self_loop: bool) -> None:  # type: ignore[no-untyped-def]
    b = Builder()
    a = b.version("00001", "Xã A", "xã", "commune", valid_from="2025-07-01", valid_to="2025-07-31")
    if self_loop:
        b.event("E", "rename", "2025-08-01", [(a, a, "whole", "renamed")])
        assert "own-successor" in _rules(build(b))
    else:
        c = b.version("00002", "Xã C", "xã", "commune", valid_from="2025-08-01", valid_to="2025-08-31")
        b.event("E1", "rename", "2025-08-01", [(a, c, "whole", "renamed")])
        b.event("E2", "rename", "2025-07-01", [(c, a, "whole", "renamed")])
        assert "cycle" in _rules(build(b))


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20))
@settings(max_examples=200, deadline=None)
def test_the_cycle_search_agrees_with_networkx(edges: list[tuple[int, int]]) -> None:
    """check() finds cycles by its own depth-first search; networkx's verdict is the reference."""
    import networkx as nx

    from merger.checks import find_cycle
    from merger.graph import E, L, Snapshot, V

    vs = {i: V(i, f"{i:05d}@..", i, f"{i:05d}", "admin", f"{i:05d}", f"X{i}", f"Xã X{i}", "xã", "commune",
               None, None, None, None, "") for i in range(8)}
    ev = E(1, "E", "rename", date(2025, 7, 1), None, None, "", "", None, datetime(2025, 7, 1), "t")
    snap = Snapshot("g", vs, {1: ev}, [L(n, ev, vs[a], vs[b], "whole", "", None, None, "")
                                       for n, (a, b) in enumerate(edges)], {})
    cycle = find_cycle(snap)
    assert bool(cycle) == (not nx.is_directed_acyclic_graph(snap.to_networkx()))
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):  # a real cycle, edge by edge
        assert (a.id, b.id) in set(edges)
