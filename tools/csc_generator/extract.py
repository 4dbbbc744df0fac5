"""One table as delivered on one night: header and text cells, before it becomes CSV.

Faults and mess operate on this small structure (columns of numpy object arrays of
str, "" = null) rather than on DataFrames, because everything in an export is text
and the writer streams the columns straight into the csv module.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np


def stable_int(text: str) -> int:
    """A deterministic integer for a string (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


@dataclass
class Extract:
    """The cells of one CSV file."""

    table: str
    columns: list[str]
    cells: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.cells[self.columns[0]]) if self.columns else 0

    def take(self, positions: np.ndarray) -> None:
        """Keep (and reorder/repeat) rows by position."""
        for c in self.columns:
            self.cells[c] = self.cells[c][positions]

    def copy(self) -> Extract:
        return Extract(self.table, list(self.columns), {c: v.copy() for c, v in self.cells.items()})
