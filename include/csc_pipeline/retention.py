"""How many nights of per-night output the pipeline keeps.

Every published night writes its marts as Parquet (``var/parquet/<la>/<date>/``) and its
Great Expectations Data Docs (``var/dq_docs/<la>/<date>/``). Without a limit these grow
by a night's worth every night for ever. The warehouse keeps the history that matters
(raw lineage, snapshots, dq_issues); these folders are conveniences for BI tools and
reviewers, so only the newest ``CSC_KEEP_NIGHTS`` nights (default 35: a month and a
margin) are kept. Raw export files and quarantine reports are never pruned here: they
are the council's evidence.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

NIGHT_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def prune_nights(council_dir: Path, keep: int, protect: str | None = None) -> list[Path]:
    """Remove all but the newest ``keep`` night folders (named YYYY-MM-DD) of a council.

    ``protect`` (the night just published) is never removed, whatever its age; links
    (e.g. ``latest``) and anything not named as a night are left alone.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1 night, not {keep}")
    if not council_dir.is_dir():
        return []
    nights = sorted(
        (p for p in council_dir.iterdir() if NIGHT_DIR.match(p.name) and not p.is_symlink()),
        key=lambda p: p.name,
        reverse=True,
    )
    removed = []
    for old in nights[keep:]:
        if old.name == protect or not old.is_dir():
            continue
        shutil.rmtree(old)
        removed.append(old)
    if removed:
        log.info("pruned %d night folder(s) from %s (keeping %d)", len(removed), council_dir, keep)
    return removed
