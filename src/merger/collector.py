"""The cyclic garbage collector paused while a command builds tens of thousands of objects.

Its own module, importing nothing, so that readers which never build the snapshot's classes
(``merger check`` on rows) can use it without importing merger.graph.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_gc(freeze: bool = False) -> Iterator[None]:
    """Build (or walk) tens of thousands of objects without the cyclic collector rescanning them.

    The collector would otherwise run dozens of times over the growing heap (it triples the
    snapshot's load time). ``freeze`` moves what was built out of later collections: right for
    the long-lived snapshot, and the collections at the interpreter's exit then pass over
    nothing made before (~6 ms of ``merger check``'s exit).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if freeze:
                gc.freeze()
            gc.enable()
