"""The rich console every module prints through (imported lazily: rich costs ~50 ms).

Library code that shows progress (downloads, the audit) and the CLI share it, so it lives
outside `bioeval.cli`: nothing outside the CLI imports from the CLI.

Text is scrubbed of secrets (bioeval.redact) as it enters rich, before rich wraps it into
table cells: once a token is folded across two lines, no stream scrubber can find it.
"""

from __future__ import annotations

import functools

from rich.console import Console
from rich.text import Text

from bioeval.redact import scrub


class ScrubbingConsole(Console):
    """A rich Console that scrubs every string and Text it renders (cells, titles, markup)."""

    def render_str(self, text: str, **kwargs) -> Text:
        return super().render_str(scrub(text), **kwargs)

    def render(self, renderable, options=None):
        if isinstance(renderable, Text):
            clean = scrub(renderable.plain)
            if clean != renderable.plain:  # the styled spans no longer fit: keep the base style only
                renderable = Text(clean, style=renderable.style, justify=renderable.justify,
                                  overflow=renderable.overflow, no_wrap=renderable.no_wrap, end=renderable.end)
        return super().render(renderable, options)


@functools.cache
def console(stderr: bool = False) -> Console:
    # pipes and CI logs get a wide console so file:line:field lines are not wrapped
    probe = Console(stderr=stderr)
    return ScrubbingConsole(stderr=stderr, highlight=False, width=None if probe.is_terminal else 160)
