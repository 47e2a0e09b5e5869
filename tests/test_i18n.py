"""The Vietnamese interface: the catalog is complete and current, and the commands speak it."""

from __future__ import annotations

import functools
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import i18n
from merger.cli import app
from merger.cli.common import parse_date
from merger.i18n_extract import PO, mo_bytes, read_po, template, translated

HINT = "run `python -m merger.i18n_extract`, then translate the new entries in merger.po"
VI = {"LANG": "vi_VN.UTF-8", "MERGER_LANG": None, "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)s")


# --- the catalog ---------------------------------------------------------------------------------


def _ids(catalog) -> set[tuple[str | None, str]]:  # type: ignore[no-untyped-def]
    return {(m.context, _first(m.id)) for m in catalog if m.id}


def test_catalog_is_current_with_the_code() -> None:
    """Every English message the code shows is in merger.po, and merger.po has nothing the code dropped."""
    code, po = _ids(template()), _ids(read_po())
    assert not code - po, f"messages missing from merger.po ({HINT}): {sorted(code - po)[:10]}"
    assert not po - code, f"messages no longer in the code ({HINT}): {sorted(po - code)[:10]}"
    assert len(code) > 300  # help of every command and option, labels, report, diagram, maps


def test_every_message_is_translated() -> None:
    missing = [m.id for m in read_po() if m.id and not translated(m)]
    assert not missing, f"untranslated or fuzzy in merger.po: {missing[:10]}"


def _first(text: str | tuple[str, ...] | list[str]) -> str:
    return text if isinstance(text, str) else text[0]


def test_translations_keep_their_placeholders() -> None:
    bad = [m.id for m in read_po() if m.id and any(
        sorted(PLACEHOLDER.findall(_first(m.id))) != sorted(PLACEHOLDER.findall(s))
        for s in ([m.string] if isinstance(m.string, str) else m.string))]
    assert not bad, f"placeholders differ: {bad[:5]}"


def test_compiled_catalog_is_the_po() -> None:
    """merger.mo (what the program reads; committed, built into the wheel) is merger.po compiled."""
    assert PO.with_suffix(".mo").read_bytes() == mo_bytes(read_po()), f"merger.mo is stale: {HINT}"


def test_legal_terms() -> None:
    """The labels use the words of the resolutions and the conversion table."""
    from merger.lineage import event_label, relation_label
    from merger.report import group_label

    with i18n.use("vi"):
        assert relation_label("whole") == "nhập toàn bộ"
        assert relation_label("part_area") == "nhập một phần diện tích"
        assert relation_label("unchanged") == "giữ nguyên"
        assert event_label("rename") == "đổi tên"
        assert event_label("reclassify") == "đổi loại hình"
        assert event_label("dissolve") == "giải thể"
        assert event_label("establish") == "thành lập"
        assert event_label("transfer") == "nhập một phần"
        assert relation_label("district_to_special_zone") == "toàn bộ huyện thành đặc khu"
        assert group_label("merge") == "Sáp nhập"
    assert relation_label("whole") == "whole unit" and event_label("rename") == "rename"  # English outside


# --- choosing the language -----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "env", "expected"), [
    ([], {}, "en"),
    ([], {"LANG": "vi_VN.UTF-8"}, "vi"),
    ([], {"LANG": "en_US.UTF-8", "LC_ALL": "vi_VN.UTF-8"}, "vi"),
    ([], {"LANGUAGE": "vi:en", "LANG": "C.UTF-8"}, "vi"),
    ([], {"LANG": "vi_VN.UTF-8", "MERGER_LANG": "en"}, "en"),
    ([], {"MERGER_LANG": "vi"}, "vi"),
    (["--lang", "en", "counts"], {"LANG": "vi_VN.UTF-8"}, "en"),
    (["counts", "--lang=vi"], {}, "vi"),
    (["search", "--", "--lang", "vi"], {}, "en"),
    ([], {"LANG": "fr_FR.UTF-8"}, "en"),
])
def test_choose(args: list[str], env: dict[str, str], expected: str) -> None:
    assert i18n.choose(args, env) == expected


@given(st.text(max_size=12))
def test_only_vi_locales_choose_vietnamese(value: str) -> None:
    assert i18n.normalize(value) == ("vi" if value.strip().split(":")[0].lower().startswith("vi") else "en")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_vietnamese_dates_read_back(day: date) -> None:
    """01/7/2025 in Vietnamese output, ISO in English; the CLI reads both back."""
    with i18n.use("vi"):
        text = i18n.fdate(day)
    assert re.fullmatch(r"\d{2}/\d{1,2}/\d{4}", text) and parse_date(text) == day
    assert i18n.fdate(day) == day.isoformat()


def test_vietnamese_numbers() -> None:
    with i18n.use("vi"):
        assert i18n.fnum(10035) == "10.035" and i18n.fnum(1526.5, 2) == "1.526,50"
    assert i18n.fnum(10035) == "10,035"


def test_no_language_leaks_out_of_an_invocation(national_path: str) -> None:
    CliRunner().invoke(app, ["--db", national_path, "--lang", "vi", "counts"])
    assert i18n.current().code == "en"


# --- the commands in Vietnamese, on the real register -------------------------------------------


def _english_words() -> set[str]:
    """Words of the English messages that no Vietnamese translation uses: none may reach a Vietnamese user."""
    cat = read_po()
    english = {w.lower() for m in cat if m.id for w in re.findall(r"[A-Za-z]{4,}", " ".join(
        [m.id] if isinstance(m.id, str) else m.id))}
    kept = {w.lower() for m in cat if m.id for w in re.findall(r"[A-Za-z]{4,}", " ".join(
        [m.string] if isinstance(m.string, str) else m.string))}
    return english - kept


def _sources(reg) -> list[str]:  # type: ignore[no-untyped-def]
    snap = reg.snapshot
    found = {e.source for e in snap.events.values() if e.source} | {v.source for v in snap.versions.values() if v.source}
    return sorted(found, key=len, reverse=True)


COMMANDS = [
    ["counts", "--within", "Hải Phòng"],
    ["counts", "--kind", "agency", "--within", "Hải Phòng"],
    ["lineage", "An Lư"],
    ["lineage", "Phường Hòa Bình, Hải Phòng", "--as-of", "2025-07-01"],
    ["show", "An Lư"],
    ["show", "Hải Phòng"],
    ["units", "--as-of", "2025-07-01", "--within", "Hải Phòng", "--type", "đặc khu"],
    ["search", "hoa binh"],
    ["diff", "--within", "Hải Phòng"],
    ["crosswalk", "--within", "Hải Phòng"],
    ["check"],
    ["log"],
    ["db", "current"],
    ["locate", "106.6683", "20.8651"],
    ["overlap", "Phường Hồng Bàng"],
    ["boundaries", "list"],
    ["record", "rename", "Phường Hòa Bình, Hải Phòng", "--to", "Phường Hòa Bình Mới", "-e", "2025-09-01",
     "--act", "9/NQ-HĐND", "--dry-run"],
]
GEO = ("locate", "overlap", "boundaries")
ALSO_ENGLISH = {"ends", "from", "geometry", "became", "formed", "whole", "part", "merge", "valid", "units", "events"}


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_commands_speak_vietnamese(national: object, national_path: str, args: list[str]) -> None:
    if args[0] in GEO:
        pytest.importorskip("geopandas")
    res = CliRunner().invoke(app, ["--db", national_path, *args], env={**VI, "COLUMNS": "1000"})
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    out = _without(out, _sources(national) + _names(national))  # citations and names are data, shown as recorded
    out = re.sub(r"(?<!\w)/[\w./+-]+", "", out)  # file paths are data too (/work/..., a boundaries file)
    found = set(re.findall(r"[A-Za-z]{4,}", out))
    words = _english_words() | ALSO_ENGLISH
    english = {w for w in found if w.lower() in words}
    assert not english, f"English words in `merger {' '.join(args)}`: {sorted(english)}\n{res.stdout[:2000]}"


def test_vietnamese_lineage_and_counts(national_path: str) -> None:
    run = CliRunner().invoke
    out = run(app, ["--db", national_path, "lineage", "An Lư"], env=VI).stdout
    assert "khoản 3 Điều 1, 1669/NQ-UBTVQH15" in out and "01/7/2025" in out and "2025-07-01 ·" not in out
    assert "đã thành" in out and "nhập một phần" in out
    out = run(app, ["--db", national_path, "counts", "--within", "Hải Phòng"], env=VI).stdout
    assert "Cấp xã" in out and "30/6/2025" in out and "đặc khu" in out
    # --lang en wins over the locale; --lang vi over an English one
    assert "Level / type" in run(app, ["--db", national_path, "--lang", "en", "counts"], env=VI).stdout
    assert "Cấp / loại hình" in run(app, ["--db", national_path, "--lang", "vi", "counts"]).stdout
    assert "Cấp / loại hình" in run(app, ["--db", national_path, "counts"], env={"MERGER_LANG": "vi"}).stdout


def test_machine_output_is_not_translated(national_path: str) -> None:
    """JSON and CSV keep their English keys, codes and ISO dates whatever the language."""
    run = CliRunner().invoke
    vi = run(app, ["--db", national_path, "counts", "--within", "Hải Phòng", "--csv"], env=VI).stdout
    en = run(app, ["--db", national_path, "--lang", "en", "counts", "--within", "Hải Phòng", "--csv"]).stdout
    assert vi == en and vi.startswith("level,type,before,after,change")
    vi = run(app, ["--db", national_path, "lineage", "An Lư", "--json"], env=VI).stdout
    assert '"effective": "2025-07-01"' in vi and "01/7/2025" not in vi
    for fmt in ("--json", "--csv"):
        args = ["--db", national_path, "diff", "--within", "Hải Phòng", fmt]
        assert run(app, args, env=VI).stdout == run(app, args, env={"MERGER_LANG": "en"}).stdout


def test_vietnamese_errors(national_path: str) -> None:
    res = CliRunner().invoke(app, ["--db", national_path, "search", "zzzqqq"], env=VI)
    assert res.exit_code == 1 and res.stderr == "Lỗi: không có kết quả nào khớp 'zzzqqq'\n"
    res = CliRunner().invoke(app, ["--db", national_path, "--lang", "fr", "counts"])
    assert res.exit_code == 2 and "'fr' is not a language (vi or en)" in res.stderr
    res = CliRunner().invoke(app, ["--db", national_path, "report", "--out", "x.txt"], env=VI)
    assert res.exit_code == 1 and res.stderr.startswith("Lỗi: không xác định được định dạng của x.txt")


def test_vietnamese_help_of_every_command() -> None:
    """Each command's --help in Vietnamese: translated description, headings and option help."""
    from merger.cli.reference import render

    text = render("vi")
    for heading in ("Cách dùng: merger counts", "Tùy chọn:", "Ví dụ:", "Hiện hướng dẫn này rồi thoát."):
        assert heading in text
    assert "Usage:" not in text and "Options:" not in text and "Show this message" not in text
    res = CliRunner().invoke(app, ["lineage", "--help"], env=VI)
    assert res.exit_code == 0 and "Đơn vị cũ đã được sắp xếp thành đơn vị nào" in res.stdout
    assert "(sơ đồ cho hồ sơ)" in res.stdout and "[bắt buộc]" in res.stdout


def test_vietnamese_diagram(national: object, tmp_path: Path) -> None:
    """The lineage diagram's title, labels and footer in Vietnamese (SVG keeps text as text)."""
    pytest.importorskip("matplotlib")
    from merger import diagram

    reg = national
    tree = reg.lineage("An Lư")  # type: ignore[attr-defined]
    with i18n.use("vi"):
        out = diagram.draw(reg.snapshot, tree, tmp_path / "an_lu.svg")  # type: ignore[attr-defined]
    svg = out.read_text(encoding="utf-8")
    assert "đã được sắp xếp thành" in svg and "nhập một phần" in svg and "01/7/2025" in svg
    assert "Solid arrow" not in svg and "became" not in svg


def test_vietnamese_library_errors(national_path: str) -> None:
    """Domain errors raised while the CLI speaks Vietnamese are Vietnamese, one line, exit 1."""
    run = CliRunner().invoke
    res = run(app, ["--db", national_path, "lineage", "Tân Tiến"], env=VI)
    assert res.exit_code == 1 and res.stderr.startswith("Lỗi: 'Tân Tiến' chưa rõ ràng (21 đơn vị)")
    assert "30/6/2025" in res.stderr and "và 9 đơn vị khác" in res.stderr
    assert "Hãy ghi kèm đơn vị cấp trên" in res.stderr and res.stderr.count("\n") == 1
    res = run(app, ["--db", national_path, "show", "Xã Không Có Thật"], env=VI)
    assert res.exit_code == 1 and res.stderr.startswith("Lỗi: không có đơn vị nào khớp 'Xã Không Có Thật'")
    res = run(app, ["--db", national_path, "units", "--as-of", "31/2/2025"], env=VI)
    assert res.exit_code == 2 and "'31/2/2025' không phải là ngày" in res.stderr


def test_vietnamese_map(national_path: str, tmp_path: Path) -> None:
    """The map's title, legend and footer in Vietnamese (SVG keeps text as text)."""
    pytest.importorskip("geopandas")
    out = tmp_path / "hong_bang.svg"
    res = CliRunner().invoke(app, ["--db", national_path, "map", "Phường Hồng Bàng", "--out", str(out)], env=VI)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("Đã ghi bản đồ Phường Hồng Bàng")
    svg = out.read_text(encoding="utf-8")
    assert "các đơn vị lân cận, cùng ngày" in svg
    assert "Địa giới:" in svg and "Tạo bằng merger." in svg and "đến 30/6/2025" in svg
    assert "neighbouring" not in svg and "Made with" not in svg and "until " not in svg


def test_vietnamese_boundaries_check(national: object, national_path: str) -> None:
    """Boundary staff's check report in Vietnamese (it exits 1 on the real data's coast and islands)."""
    pytest.importorskip("geopandas")
    res = CliRunner().invoke(app, ["--db", national_path, "boundaries", "check", "--within", "Hải Phòng",
                                   "--as-of", "2025-07-01"], env=VI)
    assert res.exit_code == 1, res.stderr
    out = res.stdout
    assert "Địa giới thuộc Hải Phòng ngày 01/7/2025" in out and "Đơn vị cấp trên so với hợp" in out
    assert "Diện tích tính được so với diện tích chính thức" in out and "phát hiện vượt ngưỡng" in out
    out = _without(out, _names(national))  # unit names are data ("Bạch Long Vĩ")
    words = _english_words() | ALSO_ENGLISH
    english = {w for w in re.findall(r"[A-Za-z]{4,}", out) if w.lower() in words}
    assert not english, sorted(english)


@pytest.mark.parametrize(("args", "said"), [
    (["counts", "--bogus"], "Lỗi: Không có tùy chọn: --bogus"),
    (["lineage"], "Lỗi: Thiếu đối số 'ĐƠN_VỊ'."),
    (["lineage", "x", "--depth", "x"], "Lỗi: Giá trị không hợp lệ cho '--depth': 'x' không phải là số nguyên hợp lệ."),
    (["countz"], "Lỗi: Không có lệnh 'countz'. Có phải ý bạn là 'counts'"),
    (["units", "--as-of", "31/2/2025"], "Lỗi: Giá trị không hợp lệ cho --as-of: '31/2/2025' không phải là ngày"),
    (["show", "a", "b"], "Lỗi: Thừa đối số: b"),
])
def test_vietnamese_usage_errors(args: list[str], said: str) -> None:
    """click's own usage errors, with the usage line and the hint, in Vietnamese; exit 2."""
    res = CliRunner().invoke(app, args, env=VI)
    assert res.exit_code == 2 and said in res.stderr, res.stderr
    assert res.stderr.count("Lỗi:") == 1 and "Error" not in res.stderr and "Usage" not in res.stderr
    en = CliRunner().invoke(app, args, env={"MERGER_LANG": "en"})
    assert en.exit_code == 2 and "Error: " in en.stderr  # English unchanged


def test_vietnamese_help_has_no_english_prose() -> None:
    """Every command's and option's help in docs/cli.vi.md: no English word of the catalog left in the prose
    (command and option names, metavariables, default values and example command lines are what users type)."""
    from merger.cli.reference import render

    prose, section = [], None
    for line in render("vi").splitlines():
        text = line.strip()
        if text.startswith(("merger ", "## ", "Cách dùng:", "```")) or "| merger " in text:
            continue  # example command lines (pipelines into merger too) are what users type
        if text.endswith(":") and not line.startswith(" "):
            section = text
            continue
        if section == "Lệnh:" and line.startswith("  "):
            line = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
        prose.append(re.sub(r"--?[\w-]+|\b[A-Z_]{2,}\b|\[mặc định: [^\]]*\]", "", line))
    words = _english_words()  # once: it reads the catalog (once per word took ~50 s)
    english = {w for w in re.findall(r"[A-Za-z]{4,}", "\n".join(prose)) if w.lower() in words}
    assert not english, sorted(english)


# --- every command, listed from the CLI: help, normal output and an error, in Vietnamese ---------

LEGAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "sources" / "legal" / "1669_NQ-UBTVQH15.md"
HP, WARD = "Hải Phòng", "Phường Hòa Bình, Hải Phòng"
NOWHERE = "Xã Không Có Thật"
ACT = ["-e", "2025-09-01", "--act", "9/NQ-HĐND"]
# What people type or the program names, not words to translate: option values, codes, file kinds.
TYPED = {"commune", "district", "province", "agency", "admin", "population", "area", "equal", "geojson", "gpkg",
         "json", "html", "docx", "text", "merger", "yaml", "utf8", "sqlite", "postgresql", "psycopg", "epsg",
         # the tables of a register export (keys): merger export --format json, import-register
         "meta", "legal_act", "unit", "version", "event", "link", "statistic", "correction", "derived_share"}

# One normal run of every command, in order (later runs use files earlier ones wrote; {tmp} is a
# private folder). Exit 1 is expected only where the command reports findings (boundaries check).
RUNS: list[tuple[str, list[str]]] = [
    ("counts", ["counts", "--within", HP]),
    ("lineage", ["lineage", "An Lư"]),
    ("show", ["show", "An Lư"]),
    ("units", ["units", "--as-of", "2025-07-01", "--within", HP, "--type", "đặc khu"]),
    ("search", ["search", "hoa binh"]),
    ("check", ["check"]),
    ("check", ["check", "--gaps"]),
    ("init", ["--db", "{tmp}/fresh.sqlite", "init"]),
    ("db current", ["db", "current"]),
    ("db upgrade", ["db", "upgrade"]),
    ("db revision", ["db", "revision", "-m", "nothing", "--folder", "{tmp}/migrations"]),
    ("crosswalk", ["crosswalk", "--within", HP]),
    ("convert", ["convert", "{tmp}/pop.csv", "--key", "ma_xa", "--sum", "dan_so", "--weights", "equal",
                 "--out", "{tmp}/pop_new.csv"]),
    ("resolve", ["resolve", "Phường An Lư, Thủy Nguyên, Hải Phòng"]),
    ("resolve", ["resolve", "--file", "{tmp}/addr.csv", "--column", "dia_chi", "--out", "{tmp}/addr_new.csv"]),
    ("diff", ["diff", "--within", HP]),
    ("report", ["report", "--within", HP, "--out", "{tmp}/report.md"]),
    ("summary", ["summary", "--within", HP, "--kind", "agency"]),
    ("summary", ["summary", "--within", HP]),
    ("changes", ["changes", "--within", HP]),
    ("record rename", ["record", "rename", WARD, "--to", "Phường Hòa Bình Mới", *ACT, "--dry-run"]),
    ("record establish", ["record", "establish", "Thôn Mới", "--type", "thôn", "--parent", WARD, *ACT, "--dry-run"]),
    ("record merge", ["record", "merge", WARD, "--into", "Phường Thủy Nguyên, Hải Phòng", *ACT, "--dry-run"]),
    ("record move", ["record", "move", WARD, "--to-parent", "Thành phố Hà Nội", *ACT, "--dry-run"]),
    ("record reclassify", ["record", "reclassify", WARD, "--to", "xã", *ACT, "--dry-run"]),
    ("record dissolve", ["record", "dissolve", WARD, *ACT, "--dry-run"]),
    ("record split", ["record", "split", WARD, "--into", "Phường A", "--into", "Phường B", "--code", "Phường A=90001",
                      "--code", "Phường B=90002", *ACT, "--dry-run"]),
    ("record transfer", ["record", "transfer", "--part-of", WARD, "--to", "Phường Thủy Nguyên, Hải Phòng",
                         "--share", "0.1", "--basis", "area", *ACT, "--dry-run"]),
    ("apply", ["apply", "{tmp}/annex.csv", "--dry-run"]),
    ("record rename", ["record", "rename", WARD, "--to", "Phường Hòa Bình Mới", *ACT, "--by", "test"]),
    ("log", ["log"]),
    ("amend", ["amend", "{event}", "--effective", "2025-10-01", "--reason", "sai ngày", "--dry-run"]),
    ("revoke", ["revoke", "{event}", "--reason", "nhập nhầm"]),
    ("import-register", ["--db", "{tmp}/restored.sqlite", "import-register", "{tmp}/register.json"]),
    ("draft", ["draft", "{legal}", "--out", "{tmp}/annex-1669.yaml"]),
    ("boundaries list", ["boundaries", "list"]),
    ("boundaries check", ["boundaries", "check", "--within", HP, "--as-of", "2025-07-01"]),
    ("boundaries shares", ["boundaries", "shares", "--within", HP]),
    ("export", ["export", "--format", "geojson", "--as-of", "2025-07-01", "--within", HP,
                "--out", "{tmp}/hp.geojson"]),
    ("boundaries load", ["boundaries", "load", "{tmp}/hp.geojson", "--level", "commune", "--as-of", "2025-07-01",
                         "--code-field", "code", "--dry-run"]),
    ("boundaries forget", ["boundaries", "forget"]),
    ("locate", ["locate", "106.6683", "20.8651"]),
    ("map", ["map", "Phường Hồng Bàng", "--out", "{tmp}/hong_bang.svg"]),
    ("overlap", ["overlap", "Phường Hồng Bàng"]),
]
# One error of every command: bad input the user can act on (exit 1, or 2 for click's usage errors).
ERRORS: dict[str, list[str]] = {
    "counts": ["counts", "--within", NOWHERE],
    "lineage": ["lineage", NOWHERE],
    "show": ["show", NOWHERE],
    "units": ["units", "--within", NOWHERE],
    "search": ["search", "zzzqqq"],
    "check": ["check", "--json", "--csv"],
    "init": ["--read-only", "init"],
    "import-sources": ["import-sources", "{tmp}/no-such-folder"],
    "db current": ["--db", "{tmp}/pop.csv", "db", "current"],
    "db upgrade": ["--read-only", "db", "upgrade"],
    "db revision": ["--db", "{tmp}/fresh.sqlite", "db", "revision"],
    "record rename": ["record", "rename", WARD, "--to", "Phường Hòa Bình", *ACT, "--dry-run"],
    "record establish": ["record", "establish", "Thôn Mới", "--type", "thôn", "--parent", NOWHERE, *ACT],
    "record merge": ["record", "merge", WARD, "--into", WARD, *ACT, "--dry-run"],
    "record move": ["record", "move", WARD, "--to-parent", NOWHERE, *ACT, "--dry-run"],
    "record reclassify": ["record", "reclassify", WARD, "--to", "phường", *ACT, "--dry-run"],
    "record dissolve": ["record", "dissolve", NOWHERE, *ACT, "--dry-run"],
    "record split": ["record", "split", WARD, "--into", "Phường A", "--into", "Phường B", *ACT, "--dry-run"],
    "record transfer": ["record", "transfer", "--part-of", WARD, "--to", "Phường Thủy Nguyên, Hải Phòng",
                        "--share", "1.5", *ACT, "--dry-run"],
    "apply": ["apply", "{tmp}/annex-1669.yaml", "--dry-run"],
    "log": ["log", "--unit", NOWHERE],
    "revoke": ["revoke", "E20990101-X1", "--reason", "x"],
    "amend": ["amend", "E20990101-X1", "--effective", "2025-10-01", "--reason", "x"],
    "import-register": ["--db", "{tmp}/other.sqlite", "import-register", "{tmp}/no-such.json"],
    "crosswalk": ["crosswalk", "--within", NOWHERE],
    "convert": ["convert", "{tmp}/pop.csv", "--key", "nope", "--sum", "dan_so"],
    "resolve": ["resolve", "zzz"],
    "diff": ["diff", "--within", NOWHERE],
    "report": ["report", "--out", "{tmp}/x.xyz"],
    "summary": ["summary", "--within", NOWHERE],
    "changes": ["changes", "--within", NOWHERE],
    "draft": ["draft", "{tmp}/no-such.md", "--out", "{tmp}/x.yaml"],
    "boundaries list": ["boundaries", "list", "--json", "--csv"],
    "boundaries check": ["boundaries", "check", "--within", NOWHERE],
    "boundaries shares": ["boundaries", "shares", "--within", NOWHERE],
    "boundaries load": ["boundaries", "load", "{tmp}/no-such.geojson", "--level", "commune", "--as-of", "2025-07-01"],
    "boundaries forget": ["--read-only", "boundaries", "forget"],
    "export": ["export", "--format", "shp", "--out", "{tmp}/x.shp"],
    "import-boundaries": ["import-boundaries", "{tmp}/no-new", "{tmp}/no-old"],
    "locate": ["locate", "0", "0"],
    "map": ["map", "Phường Hồng Bàng", "--out", "{tmp}/x.txt"],
    "overlap": ["overlap", NOWHERE],
}
# Maintainers' importers rebuild data/ from the raw sources (minutes of work): their normal output
# is checked by tests/test_importer.py's runs, their errors here.
NOT_RUN = {"import-sources", "import-boundaries"}


def _command_paths(leaves_only: bool = True) -> list[str]:
    """Every command of the CLI, as its path after `merger` ("record rename"), read from the CLI itself."""
    import click
    import typer.main

    out: list[str] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            if path and not leaves_only:
                out.append(" ".join(path))
            for name, sub in command.commands.items():
                if not sub.hidden:
                    walk(sub, [*path, name])
        else:
            out.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return sorted(out)


@functools.cache  # building the click tree each time took ~1 s per call, ~3 minutes of the suite
def _command_words() -> frozenset[str]:
    return frozenset(re.escape(w) for path in _command_paths(leaves_only=False) for w in path.split())


def _literal_words() -> set[str]:
    """Words of every string literal in the program's source: the English a message could carry."""
    import ast

    words: set[str] = set()
    for path in (Path(i18n.__file__).parent).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", node.value))
    return words


@functools.cache
def _english() -> frozenset[str]:
    """English words no Vietnamese translation uses: from the catalog and from every literal of the code."""
    cat = read_po()
    kept = {w.lower() for m in cat if m.id for w in re.findall(r"[A-Za-z]{4,}", " ".join(
        [m.string] if isinstance(m.string, str) else m.string))}
    return frozenset((_english_words() | _literal_words() | ALSO_ENGLISH) - kept - TYPED)


def _without(text: str, data: list[str]) -> str:
    """``text`` with each of ``data`` removed in turn (``text.replace(source, "")`` for each source,
    in order): a source is tried only when every sixth of its sixes (and its last) is in the text,
    or for a source shorter than six, every third of its threes, so the ~20,000 names of the
    register cost set lookups, not a search of the text each (with threes alone, ~50,000 searches
    of a long output found nothing: ~1.5 s a run)."""
    def grams(s: str, n: int) -> set[str]:
        return {s[i:i + n] for i in range(len(s) - n + 1)}

    def may_hold(source: str, present: set[str], n: int) -> bool:
        """Every n-th of the source's n-grams, and its last, are among the text's."""
        return source[-n:] in present and all(source[i:i + n] in present for i in range(0, len(source) - n + 1, n))

    # supersets of the text's threes and sixes: a stale one costs a search, no more
    threes, sixes = grams(text, 3), grams(text, 6)
    for source in data:
        if not source or (len(source) >= 6 and not may_hold(source, sixes, 6)) or (
                3 <= len(source) < 6 and not may_hold(source, threes, 3)):
            continue
        parts = text.split(source)
        if len(parts) > 1:
            text = "".join(parts)
            # A removal may join what was apart: the new grams span a join, so they lie within
            # five characters either side of it (the whole text again cost ~2 minutes of the suite).
            at = 0
            for part in parts[:-1]:
                at += len(part)
                around = text[max(at - 5, 0):at + 5]
                threes |= grams(around, 3)
                sixes |= grams(around, 6)
    return text


@given(st.text(alphabet="abXẠ ", max_size=30), st.lists(st.text(alphabet="abXẠ ", max_size=8), max_size=8))
def test_without_removes_as_replacing_in_turn_does(text: str, data: list[str]) -> None:
    """The scan's shortcuts (a source tried only when every third of its threes and its last one
    occur; the threes of the text updated only around each removal) remove exactly what replacing
    every source in turn removes, removals that join text included."""
    expected = text
    for source in data:
        expected = expected.replace(source, "")
    assert _without(text, data) == expected


def _english_in(text: str, data: list[str]) -> list[str]:
    """The English words a person reads in ``text``, data (names, citations), codes, keys, paths and
    what people type (option names, commands in backquotes) taken out."""
    text = _without(text, data)
    text = re.sub(r"`[^`]*`", "", text)  # a command to type
    text = re.sub(r"(?<![\w.])(?:[A-Za-z]:)?[/\\][^\s:,;()'\"]+", "", text)  # paths
    text = re.sub(r"\S+\.(?:csv|yaml|json|md|svg|png|html|gpkg|geojson|docx|txt|xyz|shp|sqlite)\b", "", text)
    text = re.sub(r"(?<![\w-])--?[A-Za-z][\w-]*", "", text)  # option names
    text = re.sub(r"merger(?: (?:" + "|".join(_command_words()) + r")\b)+", "", text)  # commands people type
    text = re.sub(r"\b\w*[\d@]\w*(?:[-.@]\w+)*", "", text)  # codes, keys, event ids, dates
    text = re.sub(r"\b[a-z]+(?:[-_][a-z]+)+\b", "", text)  # identifiers and codes (legal_act, fallback-equal)
    text = re.sub(r"\b[A-Z]+(?:_[A-Z]+)+\b", "", text)  # field and variable names (MA_HUYEN, MERGER_DB)
    vocabulary = _english()
    return sorted({w for w in re.findall(r"[A-Za-z]{4,}", text) if w.lower() in vocabulary})


def _iso_dates(text: str, data: list[str]) -> list[str]:
    """Dates written ISO in output for people (keys such as 11533@2025-07-01 and citations aside)."""
    text = _without(text, data)
    text = re.sub(r"`[^`]*`|\S*[/\\]\S*", "", text)  # commands to type, paths
    return re.findall(r"(?<![@\w.-])\d{4}-\d{2}-\d{2}(?![\w:-])", text)


def test_every_command_is_scanned() -> None:
    """The tables below cover every command the CLI has (a new command fails here until added)."""
    commands = set(_command_paths())
    assert commands == set(ERRORS), (commands ^ set(ERRORS))
    assert commands == {name for name, _args in RUNS} | NOT_RUN, commands ^ ({name for name, _a in RUNS} | NOT_RUN)


@pytest.mark.parametrize("command", _command_paths(leaves_only=False), ids=str)
def test_help_of_every_command_is_vietnamese(command: str) -> None:
    res = CliRunner().invoke(app, [*command.split(), "--help"], env={**VI, "COLUMNS": "1000"})
    assert res.exit_code == 0, res.stderr
    words = _command_words()
    lines = [re.sub(r"^  (" + "|".join(words) + r")\b", "", line)  # the subcommands listed, as people type them
             for line in res.stdout.splitlines()
             if not line.strip().startswith("merger ") and "| merger " not in line]  # example commands
    lines = [re.sub(r"\[mặc định: [^\]]*\]", "", line) for line in lines]  # default values are typed values
    english = _english_in("\n".join(lines), [])
    assert not english, f"English in `merger {command} --help`: {english}\n{res.stdout}"


def _setup(tmp: Path, reg) -> dict[str, str]:  # type: ignore[no-untyped-def]
    (tmp / "pop.csv").write_text("ma_xa,dan_so\n11533,1000\n11890,300\n", encoding="utf-8")
    (tmp / "addr.csv").write_text("dia_chi\n\"Phường An Lư, Thủy Nguyên, Hải Phòng\"\n", encoding="utf-8")
    (tmp / "annex.csv").write_text(
        "event,units,into,to,type,parent,code,shares,basis,effective,act,act_date,issuer,clause,note\n"
        f"rename,\"{WARD}\",,Phường Hòa Bình Mới,,,,,,2025-09-01,9/NQ-HĐND,,,1,\n", encoding="utf-8")
    from merger.exchange import export_register

    export_register(reg, tmp / "register.json")
    return {"tmp": str(tmp), "legal": str(LEGAL)}


def _names(reg) -> list[str]:  # type: ignore[no-untyped-def]
    """Names of units and agencies (data, shown as recorded; some are written without marks)."""
    snap = reg.snapshot
    return sorted({v.full_name for v in snap.versions.values()} | {v.name for v in snap.versions.values()},
                  key=len, reverse=True)


def _run(db: str, args: list[str], values: dict[str, str]):  # type: ignore[no-untyped-def]
    args = [a.format(**values) if "{" in a else a for a in args]
    full = args if args[0] == "--db" else ["--db", db, *args]
    return CliRunner().invoke(app, full, env={**VI, "COLUMNS": "1000"})


def test_every_command_speaks_vietnamese(national_copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each command's normal output and one of its errors, on the real register: no English a user reads."""
    pytest.importorskip("geopandas")
    if not LEGAL.exists():
        pytest.skip(f"raw sources not present at {LEGAL.parent}")
    reg = national_copy
    values = _setup(tmp_path, reg)
    cited = _sources(reg)
    data = cited + _names(reg)
    problems: list[str] = []
    # Runs on a register file of their own (init, import-register, db revision) do not touch the
    # store of this half: the SQLite half runs them, the PostgreSQL half would only repeat them.
    own_file = reg.sqlite_path is None
    for name, args in RUNS:
        if own_file and args[0] == "--db":
            continue
        if "{event}" in args:
            values["event"] = reg.log()[-1].key
        res = _run(reg.url, args, values)
        if res.exit_code != (1 if name == "boundaries check" else 0) or (res.exception is not None
                                                                          and not isinstance(res.exception, SystemExit)):
            problems.append(f"`merger {' '.join(args)}` exited {res.exit_code}: {res.stderr[-500:]}")
        english = _english_in(res.stdout + "\n" + res.stderr, data)
        if english:
            problems.append(f"`merger {' '.join(args)}`: {english}\n{(res.stdout + res.stderr)[:800]}")
        iso = _iso_dates(res.stdout + "\n" + res.stderr, cited)
        if iso:
            problems.append(f"`merger {' '.join(args)}`: ISO dates {iso[:5]} in Vietnamese output")
    for args in ERRORS.values():
        if own_file and args[0] == "--db":
            continue
        res = _run(reg.url, args, values)
        if res.exit_code not in (1, 2) or "Lỗi: " not in res.stderr or "Traceback" in res.stderr:
            problems.append(f"`merger {' '.join(args)}` exited {res.exit_code}: {res.stderr[-500:]}")
        english = _english_in(res.stdout + "\n" + res.stderr, data)
        if english:
            problems.append(f"`merger {' '.join(args)}` (error): {english}\n{res.stderr[:800]}")
    assert not problems, f"{len(problems)} problems:\n" + "\n\n".join(problems)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_dates_in_messages_as_people_write_them(day: date) -> None:
    """A date given to a message reads 01/7/2025 in Vietnamese and stays ISO in English; times stay as given."""
    from datetime import datetime

    from merger.i18n import _

    assert _("the parent unit is not in force on {day}").format(day=day) == \
        f"the parent unit is not in force on {day.isoformat()}"
    with i18n.use("vi"):
        said = _("the parent unit is not in force on {day}").format(day=day)
        assert said == f"đơn vị cấp trên không có hiệu lực vào ngày {i18n.fdate(day)}"
        moment = datetime(day.year, day.month, day.day, 9, 5)
        assert _("{key} was already {what} on {recorded_at:%Y-%m-%d %H:%M} by {recorded_by}").format(
            key="E1", what="x", recorded_at=moment, recorded_by="a").endswith(f"{moment:%Y-%m-%d %H:%M} bởi a")
        assert _("share {share:g}{value} is outside (0, 1]").format(share=1.5, value="") == \
            "tỷ lệ 1,5 nằm ngoài khoảng (0, 1]"
    assert _("share {share:g}{value} is outside (0, 1]").format(share=1.5, value="") == "share 1.5 is outside (0, 1]"


def test_file_errors_in_vietnamese(national_path: str, tmp_path: Path) -> None:
    """The system's reason for a failed file operation is translated (it is English from the C library)."""
    missing = tmp_path / "no-such.json"
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "new.sqlite"), "import-register", str(missing)], env=VI)
    assert res.exit_code == 1 and "Không có tệp hoặc thư mục này" in res.stderr, res.stderr
    assert "No such file" not in res.stderr
    en = CliRunner().invoke(app, ["--db", str(tmp_path / "new.sqlite"), "import-register", str(missing)],
                            env={"MERGER_LANG": "en"})
    assert en.exit_code == 1 and "No such file or directory" in en.stderr


def test_click_speaks_vietnamese_only_in_a_vietnamese_run() -> None:
    """click's own messages go through the catalog in a Vietnamese run and stay click's English otherwise."""
    runner = CliRunner()
    vi = runner.invoke(app, ["convert", "x.csv", "--round", "99"], env=VI)
    assert vi.exit_code == 2 and "99 không nằm trong khoảng 0<=x<=12" in vi.stderr, vi.stderr
    en = runner.invoke(app, ["convert", "x.csv", "--round", "99"], env={"MERGER_LANG": "en"})
    assert en.exit_code == 2 and "99 is not in the range 0<=x<=12" in en.stderr, en.stderr
    assert "(env var: 'None')" not in en.stderr + vi.stderr


def test_levels_in_messages_are_words_in_vietnamese(national_copy) -> None:  # type: ignore[no-untyped-def]
    """Regression (docs/i18n.md's old gap): a refusal said "đơn vị cấp commune cần có đơn vị cấp trên":
    a level given to a message reads as its Vietnamese word; English keeps the code; other fields
    holding the same text (a name) are left alone."""
    from merger.i18n import _

    with i18n.use("vi"):
        assert _("a {level} needs a parent (--parent)").format(level="commune") == \
            "đơn vị cấp xã cần có đơn vị cấp trên (--parent)"
        assert _("{label} is a {level}; the units here are of level {level2}").format(
            label="Huyện Vĩnh Bảo", level="district", level2="province") == \
            "Huyện Vĩnh Bảo là đơn vị cấp huyện; các đơn vị ở đây thuộc cấp tỉnh"
        assert _("{full_name} is listed twice").format(full_name="commune") == "commune được ghi hai lần"
    assert _("a {level} needs a parent (--parent)").format(level="commune") == "a commune needs a parent (--parent)"
    # through the CLI, on the real register: a commune placed under a commune
    res = CliRunner().invoke(app, ["--db", national_copy.url, "--lang", "vi", "record", "establish", "Xã Thử Nghiệm",
                                   "--type", "xã", "--parent", "Phường Hồng Bàng", "--act", "1669/NQ-UBTVQH15",
                                   "--effective", "2025-08-01"])
    assert res.exit_code == 1
    assert "Lỗi: đơn vị cấp xã không thể đặt dưới Phường Hồng Bàng (xã): đơn vị cấp trên phải là cấp tỉnh hoặc " \
        "huyện" in res.stderr, res.stderr


def test_database_connection_failures_in_vietnamese(pg_url: str) -> None:
    """The server's and libpq's words for the usual connection failures (a database that does not
    exist, a wrong password, a port nobody listens on, an unknown host) are said in Vietnamese,
    with the password hidden; in English libpq's own line is kept (it names the host and port)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_url)
    host = f"{parts.hostname}:{parts.port}"
    user = parts.username or "postgres"
    cases = {
        urlunsplit(parts._replace(path="/no_such_register_db")): "cơ sở dữ liệu không tồn tại",
        urlunsplit(parts._replace(netloc=f"{user}:wrong-secret@{host}")): "máy chủ không chấp nhận vai trò",
        urlunsplit(parts._replace(netloc=f"{user}:wrong-secret@127.0.0.1:1")): "máy chủ từ chối kết nối",
        urlunsplit(parts._replace(netloc=f"{user}:wrong-secret@no-such-host.invalid")): "không tìm thấy tên máy chủ",
    }
    for url, said in cases.items():
        res = CliRunner().invoke(app, ["--db", url, "counts"], env=VI)
        assert res.exit_code == 1 and res.stderr.startswith("Lỗi: ") and said in res.stderr, (url, res.stderr)
        assert "wrong-secret" not in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    res = CliRunner().invoke(app, ["--db", urlunsplit(parts._replace(netloc=f"{user}:wrong-secret@127.0.0.1:1")),
                                   "counts"], env={**VI, "LANG": "C.UTF-8"})
    assert res.exit_code == 1 and "Connection refused" in res.stderr, res.stderr


def test_refusals_that_were_english_f_strings_are_said_in_vietnamese(national_path: str) -> None:
    """Regression: a clause that is no citation (`record … --clause`, an annex's clause column) and
    `summary --kind` of no kind were refused in English in a Vietnamese run (f-strings, not
    messages); English keeps its words."""
    runner = CliRunner()
    clause = ["--db", national_path, "record", "rename", "Phường An Lư", "--to", "Phường X", "--act", "1/NQ",
              "--clause", "zzz", "--effective", "2026-01-01", "--dry-run"]
    vi = runner.invoke(app, clause, env=VI)
    assert vi.exit_code == 1 and vi.stderr.startswith("Lỗi: trích dẫn 'zzz' không đúng dạng: hãy viết"), vi.stderr
    en = runner.invoke(app, clause, env={"MERGER_LANG": "en"})
    assert en.exit_code == 1 and en.stderr.startswith("Error: clause 'zzz' is not a citation"), en.stderr
    kind = ["--db", national_path, "summary", "--kind", "xx"]
    vi = runner.invoke(app, kind, env=VI)
    assert vi.exit_code == 1 and vi.stderr.strip() == "Lỗi: loại không xác định 'xx'; hãy dùng admin hoặc agency", vi.stderr
    en = runner.invoke(app, kind, env={"MERGER_LANG": "en"})
    assert en.stderr.strip() == "Error: unknown kind 'xx'; use admin or agency", en.stderr
