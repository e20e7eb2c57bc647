"""What a query looks for, as the snippet builder needs it: stems, exact words, phrases."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class QueryTerms:
    """The stems, exact words and phrases to mark in a text (NOT clauses left out)."""

    stems: set[str] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)
    phrases: list[tuple[str, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stems or self.exact or self.phrases)
