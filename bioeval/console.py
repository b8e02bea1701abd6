"""The rich console every module prints through (imported lazily: rich costs ~50 ms).

Library code that shows progress (downloads, the audit) and the CLI share it, so it lives
outside `bioeval.cli`: nothing outside the CLI imports from the CLI.
"""

from __future__ import annotations

import functools

from rich.console import Console


@functools.cache
def console(stderr: bool = False) -> Console:
    # pipes and CI logs get a wide console so file:line:field lines are not wrapped
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, highlight=False, width=None if probe.is_terminal else 160)
