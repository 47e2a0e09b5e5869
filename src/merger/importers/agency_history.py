"""Dated changes of Hải Phòng's and Hải Dương's agencies before 1 July 2025, from public news pages.

The raw agency sources (``agencies/``) describe the 1 July 2025 merger. This module holds the one
earlier step that public sources describe clearly enough to record: the restructuring of Hải
Dương's departments that took effect on 1 March 2025. It is the importer's single place for such
sourced facts: each entry says which pages state it, in what words, and what is NOT known. Nothing
here is inferred from a name alone.

Not recorded, because no source seen names it: the March 2025 restructuring of old Hải Phòng's
departments (the sources say only that Hải Phòng had 13 departments and equivalents before the
July merger), the number of the HĐND resolutions of February 2025, and the seed report's
subordinate figures (24 -> 15 ban/chi cục, 56 -> 30 public service units, 2 dissolved, 54 renamed),
for which no public list of names exists.
"""

from __future__ import annotations

from dataclasses import dataclass

# Pages seen through the project's stored search corpora (excerpts), by the name used below.
PAGES = {
    "laodong-1465835": "news.laodong.vn/thoi-su/hai-duong-sap-xep-lai-cac-co-quan-chuyen-mon-thuoc-ubnd-tinh-1465835.ldo",
    "kinhtemoitruong-96740": "kinhtemoitruong.vn/to-chuc-bo-may-ubnd-tinh-hai-duong-tinh-gon-con-12-so-ban-nganh-96740.html",
    "laodong-1465937": "news.laodong.vn/thoi-su/bi-thu-tinh-uy-hai-duong-nhan-nhu-5-tan-giam-doc-so-1465937.ldo",
    "baohaiduong-405823": "baohaiduong.vn/to-chuc-bo-may-moi-o-hai-duong-di-vao-hoat-dong-tu-1-3-405823.html "
                          "(via vietnam.vn/en/to-chuc-bo-may-moi-o-hai-duong-di-vao-hoat-dong-tu-1-3)",
}


@dataclass(frozen=True)
class Merger:
    """Departments of one province merged into one department on one date."""

    province: str  # the old province's unit key, e.g. "30@..2025-06-30"
    effective: str  # ISO date the merged department began to operate
    predecessors: tuple[str, ...]  # the departments' names before, without the province
    successor: str  # the merged department's name, without the province
    pages: tuple[str, ...]  # keys of PAGES that state the merger
    note: str  # what the pages say, briefly, and what they do not


HAI_DUONG = "30@..2025-06-30"

_HD_SESSION = ("HĐND tỉnh Hải Dương, kỳ họp chuyên đề ngày 20/02/2025, thông qua nghị quyết sắp xếp các cơ "
               "quan chuyên môn thuộc UBND tỉnh: hợp nhất 10 sở thành 5 sở; bộ máy mới hoạt động từ "
               "01/3/2025 (số nghị quyết chưa thấy trong nguồn)")
_HD_PAGES = ("laodong-1465835", "kinhtemoitruong-96740", "laodong-1465937", "baohaiduong-405823")

# laodong-1465835 and kinhtemoitruong-96740 list the five pairs; laodong-1465937 names the five
# directors "from March 1, 2025"; baohaiduong-405823 says the new apparatus operates from 1 March.
MARCH_2025 = (
    Merger(HAI_DUONG, "2025-03-01", ("Sở Kế hoạch và Đầu tư", "Sở Tài chính"), "Sở Tài chính", _HD_PAGES,
           _HD_SESSION),
    Merger(HAI_DUONG, "2025-03-01", ("Sở Giao thông vận tải", "Sở Xây dựng"), "Sở Xây dựng", _HD_PAGES,
           _HD_SESSION),
    Merger(HAI_DUONG, "2025-03-01", ("Sở Tài nguyên và Môi trường", "Sở Nông nghiệp và Phát triển nông thôn"),
           "Sở Nông nghiệp và Môi trường", _HD_PAGES, _HD_SESSION),
    Merger(HAI_DUONG, "2025-03-01", ("Sở Thông tin và Truyền thông", "Sở Khoa học và Công nghệ"),
           "Sở Khoa học và Công nghệ", _HD_PAGES, _HD_SESSION),
    Merger(HAI_DUONG, "2025-03-01", ("Sở Lao động - Thương binh và Xã hội", "Sở Nội vụ"), "Sở Nội vụ", _HD_PAGES,
           _HD_SESSION),
)

# The seed report's figures for the July 2025 merger below department level, and how many of them
# public sources back with named records (none: the names are for staff to record).
SEED_SUBORDINATE = (
    ("tổ chức hành chính (ban, chi cục và tương đương)", "hợp nhất 24 thành 15", 0),
    ("đơn vị sự nghiệp công lập (hợp nhất)", "hợp nhất 56 thành 30", 0),
    ("đơn vị sự nghiệp công lập (giải thể)", "giải thể 02", 0),
    ("đơn vị sự nghiệp công lập (đổi tên theo địa danh mới)", "đổi tên 54", 0),
)


def page_list(keys: tuple[str, ...]) -> str:
    """The pages behind a fact, as one source string."""
    return "; ".join(PAGES[k] for k in keys)
