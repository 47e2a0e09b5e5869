"""Kept for callers of the former module: recording now lives in ``merger.recording``
(one handler per event type). Import from there in new code."""

from merger.recording import *  # noqa: F403
from merger.recording import __all__  # noqa: F401
