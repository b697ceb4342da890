"""What a refused policy reports: each problem with its path and file:line, capped."""

from __future__ import annotations

from dataclasses import dataclass

MAX_LISTED = 50  # problems listed one per line; the rest are counted


@dataclass(slots=True, frozen=True)
class Problem:
    path: str
    location: str | None  # "file:line" when known
    message: str

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.path or '<root>'}{where}: {self.message}"


class PolicyError(Exception):
    """The policy is refused. `problems` lists the first `MAX_LISTED` problems found, `total`
    counts them all; `lines()` is what every command prints."""

    def __init__(self, problems: list[Problem], source: str = "", total: int | None = None
                 ) -> None:
        self.total = max(len(problems), total or 0)
        self.problems = problems[:MAX_LISTED]
        self.source = source
        super().__init__("\n".join(self.lines()))

    @property
    def more(self) -> int:
        """Problems found but not listed."""
        return self.total - len(self.problems)

    def lines(self) -> list[str]:
        """A head line, one line per listed problem (path, file:line, message), and
        "and N more problem(s)" when the list is capped."""
        head = f"{self.source or '<policy>'}: invalid policy, {self.total} problem(s)"
        out = [head, *(f"  {p}" for p in self.problems)]
        if self.more:
            out.append(f"  and {self.more:,} more problem(s)")
        return out
