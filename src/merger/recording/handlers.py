"""One handler per event type, dispatched by type (as etalab/geohisto does).

Each handler reads its ``Spec``, asks the planner to find the units, and states the event's
effect as versions ended, continued or created and the links between them. Rules common to
all events (names, codes, parents, shares, dates before the register's start) live in the
planner, so each handler says only what its event means.
"""

from __future__ import annotations

from datetime import date

from merger.graph import V
from merger.i18n import _
from merger.names import fold, spelling, split_type, strip_type, tidy
from merger.recording.planner import ONE_DAY, Draft, Handler, Planner, full_name_of
from merger.recording.spec import ADMIN_TYPES, AGENCY_TYPES, Refused, Spec


def _portioned_preds(p: Planner, spec: Spec, day: date) -> tuple[list[V], list[tuple[str, str]]]:
    """Predecessors of a merge, each with its portion ("một phần X": part of X).

    A unit split between several new units ends once; each part links it to one of them, so a
    part may come from a unit that an earlier event of the same day already ended.
    """
    from merger.portions import split_portion

    parsed = [split_portion(q) for q in spec.units]
    if all(portion == "whole" for _, portion, _ in parsed):
        return p.preds(spec, day), [("whole", "whole")] * len(parsed)
    preds: list[V] = []
    for text, portion, _basis in parsed:
        if portion == "whole":
            v = p.predecessor(text, day)
        else:
            v = p.find(text, day - ONE_DAY, what="predecessor", field="units")
            split_today = v.valid_to == day - ONE_DAY and all(
                lk.portion == "part" and lk.event.effective == day for lk in p.snap.successors(v))
            if v.valid_to is not None and not split_today:
                raise Refused("already-ended", _("{label} already ends on {valid_to}; only its parts may go to several units on one day").format(label=p.label(v), valid_to=v.valid_to), [v.key], field="units")
        if any(x.unit_id == v.unit_id for x in preds):
            raise Refused("duplicate", _("{full_name} is listed twice").format(full_name=v.full_name), [v.key], field="units")
        preds.append(v)
    if len({x.kind for x in preds}) > 1 or len({x.level for x in preds}) > 1:
        raise Refused("input", _("the units of one event must be of one kind and level"), field="units")
    return preds, [(portion, relation) for _, portion, relation in parsed]


def merge(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """Whole units (or parts: "một phần X") into one: an existing unit that absorbs them, or a new
    unit (said so)."""
    preds, portions = _portioned_preds(p, spec, day)
    if len(spec.into) != 1:
        raise Refused("input", _("merge needs exactly one --into"), field="into")
    kind, level = preds[0].kind, preds[0].level
    if kind == "admin" and spec.unit_type and ADMIN_TYPES.get(tidy(spec.unit_type).casefold()) == "commune":
        level = "commune"  # a whole district becomes a special zone (đặc khu), a commune-level unit
    parents = {x.parent_unit_id for x in preds}
    near = p.parent(spec.parent, day, kind, level).unit_id if spec.parent else (
        next(iter(parents)) if len(parents) == 1 else None)
    target = p.existing(spec.into[0], near, kind, level, day)
    if target is not None and any(x.unit_id == target.unit_id for x in preds):
        raise Refused("cycle", _("{full_name} cannot be merged into itself (a lineage cycle): list only the units it absorbs").format(full_name=target.full_name), [target.key], field="into")
    for x in preds:
        if x.valid_to is None:
            p.end(d, x, day)
        p.orphans(x, day)
    if target is not None:  # absorption: the existing unit goes on, with a new version
        if target.valid_from is not None and target.valid_from >= day:
            raise Refused("before-start", _("the effective date {day} is not after the start of {label}").format(day=day, label=p.label(target)), [target.key], field="into")
        code = p.given_code(spec, target.name)
        before, succ = p.continue_(d, target, day, changes=dict(code=code) if code and code != target.code else None)
        p.link(d, before, succ, "whole", "whole")
    else:
        parent = p.target_parent(spec, preds, day, kind, level)
        types = {x.type for x in preds}
        type_, name, full = p.name_type(spec.into[0], kind, spec.unit_type or (types.pop() if len(types) == 1 else None))
        p.check_name(name, full, parent, kind, level, day, None)
        # The first predecessor's code whose holder has ended (a part's unit may have passed it on
        # earlier the same day).
        free = [x.code for x in preds if not any(
            o.kind == kind and (o.valid_to is None or o.valid_to >= day) for o in p.snap.by_code.get(x.code, ()))]
        code = p.code_for(kind, level, name, parent, p.given_code(spec, name),
                          (free or [preds[0].code])[0] if level not in ("village", "agency") else None)
        succ = p.new_version(d, unit_id=None, kind=kind, code=code, name=name, full_name=full,
                             type_=type_, level=level, parent_unit_id=parent, day=day)
    for x, (portion, relation) in zip(preds, portions, strict=True):
        p.link(d, x, succ, portion, relation)


def split(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """One unit divided between successors (new, existing, or itself for the part it keeps)."""
    (pred,) = p.preds(spec, day, one=True, continues=True)
    kind, level = pred.kind, pred.level
    parent = pred.parent_unit_id
    if spec.parent:
        parent = p.parent(spec.parent, day, kind, level).unit_id
    plans: list[tuple[str, V | None]] = []
    for text in spec.into:
        existing = p.existing(text, parent, kind, level, day)
        if existing is None and fold(split_type(text)[-1].name) == fold(pred.name):
            existing = pred
        plans.append((text, existing))
    if len(spec.into) < 2 and not any(e is not None for _, e in plans):
        raise Refused("input", _("split needs at least two --into (or one existing unit)"), field="into")
    continues = any(e is not None and e.unit_id == pred.unit_id for _, e in plans)
    if not continues:
        p.predecessor(spec.units[0], day)  # a unit that ends may not have its end recorded already
    used: set[str] = set()
    given = {t: p.share(spec, t, used) for t, _ in plans}
    p.all_shares_used(spec, used)
    remainder_share = None
    if continues and any(v is not None for v in given.values()):
        others = sum(v for t, v in given.items() if v is not None and dict(plans)[t] is not pred)
        if all(given[t] is None for t, e in plans if e is pred):
            remainder_share = 1 - others
            if remainder_share <= 1e-9:
                raise Refused("shares", _("the shares given leave nothing to {full_name}, which continues; record its end instead").format(full_name=pred.full_name), [pred.key], field="shares")
    before = pred
    if continues:
        before, rest = p.continue_(d, pred, day)
    else:
        p.end(d, pred, day)
        p.orphans(pred, day)
    inherit = None if continues or level in ("village", "agency") else pred.code
    for text, existing in plans:
        share = given[text]
        if existing is pred:
            p.link(d, before, rest, "part", "remainder", share if share is not None else remainder_share, spec.basis)
            continue
        if existing is not None:
            was, succ = p.continue_(d, existing, day)
            p.link(d, was, succ, "whole", "whole")
        else:
            type_, name, full = p.name_type(text, kind, spec.unit_type or pred.type)
            p.check_name(name, full, parent, kind, level, day, None)
            named = next((c for k, c in spec.codes.items() if k and fold(split_type(k)[-1].name) == fold(name)), None)
            alone = sum(1 for _, e in plans if e is None) == 1
            code = p.code_for(kind, level, name, parent, named or (spec.codes.get("") if alone else None), inherit)
            inherit = None
            succ = p.new_version(d, unit_id=None, kind=kind, code=code, name=name, full_name=full,
                                 type_=type_, level=level, parent_unit_id=parent, day=day)
        p.link(d, before, succ, "part", "part", share, spec.basis)


def transfer(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """Part of a unit's territory moves to another existing unit; both go on."""
    (pred,) = p.preds(spec, day, one=True, continues=True)
    if not spec.to:
        raise Refused("input", _("transfer needs --to (the unit receiving the part)"), field="to")
    target = p.predecessor(spec.to, day, continues=True, field="to", near=pred.parent_unit_id)
    if target.unit_id == pred.unit_id:
        raise Refused("cycle", _("part of {full_name} cannot be transferred to itself (a cycle)").format(full_name=pred.full_name),
                      [pred.key], field="to")
    if target.kind != pred.kind or target.level != pred.level:
        raise Refused("input", f"{target.full_name} is a {target.level}, {pred.full_name} a {pred.level}", field="to")
    used: set[str] = set()
    share = p.share(spec, target.full_name, used)
    p.all_shares_used(spec, used)
    if share is not None and share >= 1:
        raise Refused("shares", _("a share of 1 would leave nothing of {full_name}: record a merge").format(full_name=pred.full_name),
                      field="shares")
    was, rest = p.continue_(d, pred, day)
    was_t, got = p.continue_(d, target, day)
    p.link(d, was, rest, "part", "remainder", None if share is None else 1 - share, spec.basis)
    p.link(d, was, got, "part", "part", share, spec.basis)
    p.link(d, was_t, got, "whole", "whole")


def rename(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """A new name, same unit. Before the register's start, the unit is named as it was then and
    ``--to`` names it as the register holds it ("Xã Cũ, Huyện X" --to "Xã Mới")."""
    if not spec.to:
        raise Refused("input", _("rename needs --to NAME"), field="to")
    if len(spec.units) != 1:
        raise Refused("input", _("rename acts on exactly one unit ({len} given)").format(len=len(spec.units)), field="units")
    try:
        (pred,) = p.preds(spec, day, one=True, continues=True)
    except Refused as exc:
        held = _held_under_new_name(p, spec, day) if exc.violation.rule == "not-found" else None
        if held is None:
            raise
        _rename_before_start(p, d, spec, held, day)
        return
    type_, name, full = p.name_type(spec.to, pred.kind, pred.type, field="to")
    if type_ != pred.type:
        raise Refused("input", _("a rename keeps the type ({type}); record a reclassify too").format(type=pred.type), field="to")
    if spelling(name) == spelling(pred.name):
        typed = split_type(spec.units[0].split(",")[0])[-1]
        if p.prestart(pred, day) and spelling(strip_type(spec.units[0].split(",")[0])[1]) != spelling(pred.name) \
                and fold(typed.name) == fold(pred.name):
            # "Thị trấn Cẩm Giàng" --to "Thị trấn Cẩm Giang": only the marks differ, so the search
            # found the unit under its later name; the earlier name is the one typed.
            _rename_before_start(p, d, spec, pred, day)
            return
        raise Refused("input", _("{full_name} is already called {name!r}").format(full_name=pred.full_name, name=name), [pred.key], field="to")
    p.check_name(name, full, pred.parent_unit_id, pred.kind, pred.level, day, pred.unit_id)
    code = pred.code
    if pred.kind == "agency" or pred.level == "village":
        code = p.code_for(pred.kind, pred.level, name, pred.parent_unit_id, p.given_code(spec, name), None)
        if any(v.unit_id != pred.unit_id for v in p.snap.by_code.get(code, ())):
            code = pred.code
    was, succ = p.continue_(d, pred, day, changes=dict(name=name, full_name=full, code=code))
    p.link(d, was, succ, "whole", "renamed")


def _held_under_new_name(p: Planner, spec: Spec, day: date) -> V | None:
    """For a rename before the register's start: the unit ``--to`` names (with the subject's
    qualifiers), if the register holds it under that name from before ``day``."""
    subject = spec.units[0]
    head, sep, quals = subject.partition(",")
    query = f"{tidy(spec.to or '')}{', ' + quals if sep else ''}"
    try:
        v = p.find(query, day, field="to")
    except Refused:
        return None
    if not p.prestart(v, day) or fold(split_type(spec.to or "")[-1].name) not in (fold(v.name), fold(v.full_name)):
        return None
    return v


def _rename_before_start(p: Planner, d: Draft, spec: Spec, v: V, day: date) -> None:
    subject = spec.units[0].split(",")[0]
    type_, name, full = p.name_type(subject, v.kind, v.type, field="units")
    if type_ != v.type:
        raise Refused("input", _("a rename keeps the type ({type}); record a reclassify too").format(type=v.type), field="units")
    if spelling(name) == spelling(v.name):
        raise Refused("input", _("{full_name} is already called {name!r}").format(full_name=v.full_name, name=name), [v.key], field="to")
    earlier, succ = p.continue_(d, v, day, before=dict(name=name, full_name=full))
    p.link(d, earlier, succ, "whole", "renamed")


def reclassify(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """A new type (xã -> phường, thôn -> tổ dân phố), same unit and name."""
    from merger.counts import TYPE_ORDER

    (pred,) = p.preds(spec, day, one=True, continues=True)
    if not spec.to:
        raise Refused("input", _("reclassify needs --to TYPE"), field="to")
    type_ = tidy(spec.to).casefold()
    allowed = tuple(AGENCY_TYPES) if pred.kind == "agency" else TYPE_ORDER.get(pred.level, ())
    if type_ not in allowed:
        raise Refused("type", _("{type!r} is not a {level} type (one of: {join})").format(type=type_, level=pred.level, join=', '.join(allowed)), field="to")
    if type_ == pred.type:
        raise Refused("input", _("{full_name} is already a {type}").format(full_name=pred.full_name, type=type_), [pred.key], field="to")
    full = full_name_of(pred.kind, type_, pred.name)
    p.check_name(pred.name, full, pred.parent_unit_id, pred.kind, pred.level, day, pred.unit_id)
    was, succ = p.continue_(d, pred, day, changes=dict(type_=type_, full_name=full))
    p.link(d, was, succ, "whole", "reclassified")


def dissolve(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """A unit ends; its functions may pass to another unit (which goes on)."""
    (pred,) = p.preds(spec, day, one=True)
    p.end(d, pred, day)
    p.orphans(pred, day)
    if spec.to:
        target = p.predecessor(spec.to, day, continues=True, field="to", near=pred.parent_unit_id)
        if target.unit_id == pred.unit_id:
            raise Refused("cycle", _("{full_name} cannot pass its functions to itself").format(full_name=pred.full_name), [pred.key], field="to")
        was, got = p.continue_(d, target, day)
        p.link(d, was, got, "whole", "whole")
        p.link(d, pred, got, "whole", "functions_to")
    else:
        p.link(d, pred, None, "whole", "dissolved")


def establish(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """A new unit with no predecessor (said so in the output: "new unit")."""
    if len(spec.into) != 1 or spec.units:
        raise Refused("input", _("establish names exactly one new unit (and no predecessors)"), field="into")
    if not spec.unit_type:
        raise Refused("input", _("establish needs --type"), field="type")
    type_ = tidy(spec.unit_type).casefold()
    if type_ in AGENCY_TYPES:
        kind, level = "agency", "agency"
    elif type_ in ADMIN_TYPES:
        kind, level = "admin", ADMIN_TYPES[type_]
    else:
        raise Refused("type", _("unknown type {type!r}").format(type=type_), field="type")
    parent = None
    if level != "province":
        if not spec.parent:
            raise Refused("input", _("establish needs --parent"), field="parent")
        parent = p.parent(spec.parent, day, kind, level).unit_id
    _type, name, full = p.name_type(spec.into[0], kind, type_)
    p.check_name(name, full, parent, kind, level, day, None)
    code = p.code_for(kind, level, name, parent, p.given_code(spec, name), None)
    succ = p.new_version(d, unit_id=None, kind=kind, code=code, name=name, full_name=full, type_=type_,
                         level=level, parent_unit_id=parent, day=day, evidence=spec.evidence)
    p.link(d, None, succ, "whole", "established")


def move(p: Planner, d: Draft, spec: Spec, day: date) -> None:
    """Another parent, otherwise unchanged."""
    (pred,) = p.preds(spec, day, one=True, continues=True)
    target = spec.parent or spec.to
    if not target:
        raise Refused("input", _("move needs --to-parent"), field="parent")
    new_parent = p.find(target, day, what="parent", field="parent")
    if new_parent.unit_id == pred.unit_id or any(a.unit_id == pred.unit_id for a in p.snap.ancestors(new_parent, day)):
        raise Refused("cycle", _("{full_name} cannot be moved under {full_name2}, which lies under it (a cycle)").format(full_name=pred.full_name, full_name2=new_parent.full_name), [pred.key, new_parent.key], field="parent")
    if new_parent.unit_id == pred.parent_unit_id:
        raise Refused("input", _("{full_name} is already under {full_name2}").format(full_name=pred.full_name, full_name2=new_parent.full_name), [pred.key], field="parent")
    new_parent = p.parent(new_parent.key, day, pred.kind, pred.level)
    p.check_name(pred.name, pred.full_name, new_parent.unit_id, pred.kind, pred.level, day, pred.unit_id)
    was, succ = p.continue_(d, pred, day, changes=dict(parent_unit_id=new_parent.unit_id))
    p.link(d, was, succ, "whole", "unchanged")


HANDLERS: dict[str, Handler] = {
    "merge": merge,
    "split": split,
    "transfer": transfer,
    "rename": rename,
    "reclassify": reclassify,
    "dissolve": dissolve,
    "establish": establish,
    "move": move,
}
