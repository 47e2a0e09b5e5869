"""Recording decisions: requests (``Spec``), planning by event type, writing, corrections, the log.

- ``spec``: what staff ask for and the rules' vocabulary;
- ``planner``: the working snapshot and the rules every event shares;
- ``handlers``: one handler per event type (merge, split, transfer, rename, reclassify,
  dissolve, establish, move), dispatched by type;
- ``writer``: one transaction, all events or none, bulk inserts;
- ``corrections``: revoke and amend (metadata never cascades; structure is re-validated);
- ``history``: the log, as recorded at a moment.

Nothing here imports ``merger.register``: a register is passed in (see ``spec.Target``).
"""

from merger.recording.corrections import AMENDABLE, amend, revoke
from merger.recording.handlers import HANDLERS
from merger.recording.history import LogEntry, log
from merger.recording.planner import Draft, Planner, full_name_of, slug
from merger.recording.spec import (
    ADMIN_TYPES,
    AGENCY_TYPES,
    BASES,
    EVENT_TYPES,
    PARENT_LEVELS,
    Change,
    Outcome,
    Refused,
    Spec,
    Target,
    advisories,
    parse_share,
    parse_shares,
)
from merger.recording.writer import default_user, plan_all, write

__all__ = [
    "ADMIN_TYPES", "AGENCY_TYPES", "AMENDABLE", "BASES", "EVENT_TYPES", "HANDLERS", "PARENT_LEVELS", "Change",
    "Draft", "LogEntry", "Outcome", "Planner", "Refused", "Spec", "Target", "advisories", "amend",
    "default_user", "full_name_of", "log", "parse_share", "parse_shares", "plan_all", "revoke", "slug", "write",
]
