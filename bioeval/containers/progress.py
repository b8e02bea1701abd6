"""A live build/run log: every line printed as it arrives, the current step in a spinner."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from bioeval.console import ScrubbingConsole


class BuildLog:
    def __init__(self, console: Console | None, title: str):
        self.console = console or ScrubbingConsole(stderr=True)
        self.title = title
        self._status = None
        self._partial = ""

    def __enter__(self) -> "BuildLog":
        self._status = self.console.status(self.title)
        self._status.__enter__()
        return self

    def line(self, text: str) -> None:
        """Docker sends fragments; print whole lines, and show 'Step n/m' in the spinner."""
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if not line.strip():
                continue
            self.console.print(Text(line, style="dim"), highlight=False)
            if line.startswith("Step ") and self._status is not None:
                self._status.update(f"{self.title}: {line[:80]}")

    def __exit__(self, *exc) -> None:
        if self._partial.strip():
            self.console.print(Text(self._partial, style="dim"), highlight=False)
        if self._status is not None:
            self._status.__exit__(*exc)
