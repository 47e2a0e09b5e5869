"""The planner finds the act an event cites from an index of the register's acts (by folded
number and by short number) instead of asking ``citation.matches_act`` of every act for every
event: the same acts, in the same order, for any number typed, on the real register's acts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from merger import citation, graph
from merger.names import strip_marks
from merger.recording import db
from merger.recording.planner import Planner
from merger.recording.writer import acts as read_acts
from merger.register import Register


@pytest.fixture(scope="module")
def register_acts(national_sqlite: Register) -> dict[str, tuple[int, graph.Act]]:
    with db.connect(national_sqlite) as conn:
        return read_acts(conn)


def _planner(acts: dict[str, tuple[int, graph.Act]]) -> Planner:
    empty = graph.Snapshot("", {}, {}, [], {})
    return Planner(empty, dict(acts), datetime(2026, 1, 1, tzinfo=UTC), "test", 0)


def _scan(acts: dict[str, tuple[int, graph.Act]], number: str) -> list[graph.Act]:
    """The planner's earlier way: every act asked."""
    return [a for known, (_, a) in acts.items() if citation.matches_act(known, number)]


def _typed(number: str, how: int) -> str:
    """An act number as people type it."""
    if how == 0:
        return number
    if how == 1:
        return number.casefold()
    if how == 2:
        return strip_marks(number)
    if how == 3:
        return number.split("/", 1)[0]  # the short number
    if how == 4:
        return f"  {number.upper()} "
    return number.replace("/", " / ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_index_finds_what_the_scan_found(register_acts: dict[str, tuple[int, graph.Act]],
                                            data: st.DataObject) -> None:
    numbers = sorted(register_acts)
    number = data.draw(st.one_of(
        st.builds(_typed, st.sampled_from(numbers), st.integers(0, 5)),
        st.text(alphabet="0123456789/NQ-HĐNDUBTVđư ", max_size=14)))
    planner = _planner(register_acts)
    assert planner._acts_matching(number) == _scan(register_acts, number)  # noqa: SLF001


def test_an_act_added_while_planning_is_found(register_acts: dict[str, tuple[int, graph.Act]]) -> None:
    """The index follows the acts the planner adds (a new act cited by one event of an annex is
    found by the next)."""
    planner = _planner(register_acts)
    assert planner._acts_matching("98765/NQ-TEST") == []  # noqa: SLF001
    new = graph.Act(-1, "98765/NQ-TEST", "resolution", "", "", None, None, "recorded")
    planner.acts[new.number] = (new.id, new)
    assert planner._acts_matching("98765/nq-test") == [new]  # noqa: SLF001
    assert planner._acts_matching("98765") == _scan(planner.acts, "98765")  # noqa: SLF001
    short = sorted({n.split("/", 1)[0] for n in register_acts if n.split("/", 1)[0].isdigit()})
    many = next(s for s in short if len(_scan(register_acts, s)) > 1)  # a short number shared by several acts
    assert len(planner._acts_matching(many)) > 1  # noqa: SLF001
