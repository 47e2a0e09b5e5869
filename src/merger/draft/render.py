"""Figures for people: the resolution's stated composition beside the dry run's count."""

from __future__ import annotations

from merger.draft.figures import KINDS, FigureCheck


def figures_text(fc: FigureCheck) -> str:
    """A small plain table, then one line saying whether they match."""
    kinds = [k for k in KINDS if fc.stated.get(k) or fc.after.get(k)]
    extra = [k for k in {**fc.after, **fc.before} if k not in (*kinds, "total") and (fc.after.get(k) or fc.before.get(k))]
    rows = [f"Closing figures of {fc.within}" + (f" (khoản {fc.clause})" if fc.clause else "") + ":",
            f"  {'':<10}{'stated':>8}{'dry run':>9}{'before':>8}"]
    for k in [*kinds, *extra, "total"]:
        rows.append(f"  {k:<10}{fc.stated.get(k, 0):>8}{fc.after.get(k, 0):>9}{fc.before.get(k, 0):>8}")
    rows.append("  ✓ the dry run matches the figures the resolution states (khớp)" if fc.matches else
                "  ✗ the dry run does NOT match the figures the resolution states (không khớp): check the annex")
    return "\n".join(rows) + "\n"
