"""The shared register tests, run again on PostgreSQL.

The figures, lineage, invariants and CLI tests are imported here unchanged; this module's
``national`` and ``national_path`` fixtures point them at the national register loaded into
PostgreSQL (``national_pg``), so the same assertions hold on both stores. Skipped, with the
reason, where no PostgreSQL server can be had (see tests/pg.py).
"""

from __future__ import annotations

import pytest

from merger.register import Register
from test_cli import (  # noqa: F401  (collected here, on PostgreSQL)
    run,
    test_ambiguous_name_exits_1_with_candidates,
    test_bad_date_is_a_usage_error,
    test_check_clean,
    test_lineage_forward_from_a_current_unit_says_so,
    test_lineage_json_follows_direction_and_depth,
    test_lineage_tree,
    test_search,
    test_show_prints_every_version,
    test_unit_not_valid_on_the_date,
    test_units_as_of_within_and_type,
    test_unknown_name_exits_1_with_suggestions,
)
from test_figures import (  # noqa: F401
    test_counts_between_any_two_dates,
    test_counts_cli_machine_output,
    test_counts_reproduce_official_figures,
    test_counts_table_shows_the_figures,
    test_hai_phong_district_split_by_old_province,
    test_hai_phong_district_types_sum_to_27,
)
from test_invariants import (  # noqa: F401
    test_check_is_clean_on_the_bundled_register,
    test_code_reused_for_other_territory,
    test_every_new_commune_carries_its_resolution_and_clause,
    test_every_old_unit_has_a_fate,
    test_every_successor_valid_the_day_its_predecessor_ends,
    test_given_shares_sum_to_at_most_one,
    test_no_overlapping_periods_for_one_identity,
    test_no_unit_is_its_own_successor,
)
from test_lineage import (  # noqa: F401
    test_bach_long_vi_district_became_special_zone,
    test_dissolved_district_has_no_successor,
    test_new_ward_lists_the_old_units_that_formed_it,
    test_old_hai_phong_commune_split_into_three,
    test_province_merge,
    test_renamed_unit_keeps_its_identity,
    test_unchanged_unit_is_re_parented,
)


@pytest.fixture
def national(national_pg: Register) -> Register:
    return national_pg


@pytest.fixture
def national_path(national_pg: Register) -> str:
    """What the CLI tests pass to --db: here the PostgreSQL URL (str() of it is itself)."""
    return national_pg.url
