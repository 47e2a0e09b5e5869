"""Lineage of named real cases, and chains of several events on a factory register."""

from __future__ import annotations

from datetime import date

from factories import Builder, reclassify_later, tiny_reform


def _succ_names(tree) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(c.version.full_name for c in tree.root.children if c.version)


def test_old_hai_phong_commune_split_into_three(national) -> None:  # type: ignore[no-untyped-def]
    tree = national.lineage("Gia Viên, Ngô Quyền")
    assert tree.direction == "forward"
    assert _succ_names(tree) == ["Phường Gia Viên", "Phường Hồng Bàng", "Phường Ngô Quyền"]
    assert {c.link.portion for c in tree.root.children} == {"part"}
    clauses = sorted(int(c.link.event.clause) for c in tree.root.children)
    assert clauses == [8, 10, 11]  # khoản 8, 10 and 11 of Article 1, 1669/NQ-UBTVQH15
    assert {c.link.event.act.number for c in tree.root.children} == {"1669/NQ-UBTVQH15"}


def test_bach_long_vi_district_became_special_zone(national) -> None:  # type: ignore[no-untyped-def]
    tree = national.lineage("Huyện Bạch Long Vĩ")
    (child,) = tree.root.children
    assert child.version.full_name == "Đặc khu Bạch Long Vĩ"
    assert child.version.level == "commune" and child.version.type == "đặc khu"
    assert child.link.relation == "district_to_special_zone"
    assert child.link.event.type == "reclassify"
    back = national.lineage("Đặc khu Bạch Long Vĩ")
    assert back.direction == "backward"
    assert [c.version.key for c in back.root.children] == ["318@..2025-06-30"]


def test_renamed_unit_keeps_its_identity(national) -> None:  # type: ignore[no-untyped-def]
    history = national.show("Xã Buôn Đôn")
    assert [h.version.full_name for h in history.versions] == ["Xã Krông Na", "Xã Buôn Đôn"]
    assert history.versions[1].created_by[0].event.type == "rename"


def test_unchanged_unit_is_re_parented(national) -> None:  # type: ignore[no-untyped-def]
    history = national.show("Ngọc Long, Yên Minh")
    old, new = history.versions
    assert old.parent.full_name == "Huyện Yên Minh"
    assert new.parent.full_name == "Tỉnh Tuyên Quang"
    link = new.created_by[0]
    assert (link.event.type, link.relation) == ("move", "unchanged")


def test_new_ward_lists_the_old_units_that_formed_it(national) -> None:  # type: ignore[no-untyped-def]
    tree = national.lineage("11533", as_of=date(2025, 7, 1))
    assert tree.direction == "backward"
    names = {c.version.full_name: c.link.portion for c in tree.root.children}
    assert names == {"Phường Hoà Bình": "whole", "Phường Thủy Hà": "part", "Phường An Lư": "part"}


def test_province_merge(national) -> None:  # type: ignore[no-untyped-def]
    tree = national.lineage("Tỉnh Hải Dương")
    (child,) = tree.root.children
    assert child.version.key == "31@2025-07-01"
    assert child.link.event.act.number == "202/2025/QH15"


def test_dissolved_district_has_no_successor(national) -> None:  # type: ignore[no-untyped-def]
    tree = national.lineage("Quận Ngô Quyền")
    (child,) = tree.root.children
    assert child.version is None and child.link.event.type == "dissolve"


def _chain(build):  # type: ignore[no-untyped-def]
    b = tiny_reform()
    b.act("2/TEST")
    reclassify_later(b, "00001@2025-07-01", "Phường An Bình", "phường", "2026-04-14", "2/TEST")
    return build(b)


def test_chains_of_several_events_are_followed(build) -> None:  # type: ignore[no-untyped-def]
    reg = _chain(build)
    assert reg.check() == []
    tree = reg.lineage("Xã Bình")
    (step1,) = tree.root.children
    assert step1.version.full_name == "Xã An Bình"
    (step2,) = step1.children
    assert step2.version.full_name == "Phường An Bình" and step2.link.event.type == "reclassify"
    shallow = reg.lineage("Xã Bình", depth=1)
    assert shallow.root.children[0].truncated and not shallow.root.children[0].children
    back = reg.lineage("Phường An Bình")
    assert back.count() == 4  # Xã An Bình, then Xã An, Xã Bình and part of Xã Hòa Bình
    assert reg.counts(before=date(2025, 6, 30), after=date(2026, 5, 1)).get("commune", "phường").after == 1


def test_builder_register_is_valid(build) -> None:  # type: ignore[no-untyped-def]
    reg = build(Builder())
    assert reg.check() == [] and reg.snapshot.versions == {}


# --- the lineage as a picture ---------------------------------------------------------------------


def test_diagram_layout_puts_each_event_in_a_column(build) -> None:  # type: ignore[no-untyped-def]
    from merger import diagram

    reg = _chain(build)  # Xã An -> Xã An Bình (2025) -> Phường An Bình (2026)
    placed = diagram.layout(reg.lineage("Xã An", direction="forward"))
    by_name = {p.node.version.full_name: p for p in placed if p.node.version is not None}
    assert [by_name[n].depth for n in ("Xã An", "Xã An Bình", "Phường An Bình")] == [0, 1, 2]
    back = diagram.layout(reg.lineage("Phường An Bình"))
    root = next(p for p in back if p.depth == 0)
    formed = [p for p in back if p.depth == 2]  # the old communes, two events back
    assert len(formed) == 3 and root.y == sum(p.y for p in formed) / 3  # a parent between its children


def test_diagram_files_from_the_real_register(national, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from merger import diagram
    from merger.errors import BadInput

    pytest.importorskip("matplotlib")
    tree = national.lineage("Phường Hồng Bàng")
    png = diagram.draw(national.snapshot, tree, tmp_path / "hb.png")
    raw = png.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and 20_000 < len(raw) < 2_000_000
    svg = diagram.draw(national.snapshot, tree, tmp_path / "hb.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    with pytest.raises(BadInput, match="use a .png or .svg"):
        diagram.draw(national.snapshot, tree, tmp_path / "hb.pdf")
    monkeypatch.setattr(diagram, "MAX_BOXES", 7)  # Hồng Bàng, the 7 units that formed it and 1 earlier: 9
    with pytest.raises(BadInput, match="the lineage has 9 units, too many to draw legibly"):
        diagram.draw(national.snapshot, tree, tmp_path / "big.png")
    assert not (tmp_path / "big.png").exists()
