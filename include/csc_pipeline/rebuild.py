"""Rebuild a council's warehouse from its archive of nightly exports (disaster recovery).

    make rebuild CSC_LA_CODES=999[,998...]      # python -m csc_pipeline.rebuild

The export folders are kept as evidence, and every night's export is a full extract, so
a lost or corrupted warehouse can be made again: every kept, complete night of the
council is replayed oldest first through the same steps as the nightly run (land,
validate, build, publish — not alerts: history is never emailed again) into a fresh
warehouse in a staging folder beside the live one. Only when every night has been
replayed is the rebuilt file swapped in (one atomic rename); the file it replaces is
kept beside it as `<name>.before-rebuild-<UTC stamp>` until someone deletes it. A
failure part-way leaves the live warehouse exactly as it was.

Decisions where the brief left room (an experienced council data team's choices):
- A night that the quality gate quarantines during the replay is skipped, as it was
  (or would have been) on the night; the summary lists those nights. Quarantine
  reports and Data Docs of the replay go to the staging folder, not the live var dir.
- The snapshots come out the same as the published ones because their validity dates
  are the export dates (dbt_project/macros/snapshot_time.sql), not the time of the run.
  meta.nights' timestamps (landed_at, published_at) are those of the rebuild.
- The rebuild refuses to start while a night is in flight for the council (its working
  copy exists): pause csc_nightly (or wait for the run to end) first.
- After the swap the last replayed night's Parquet folder is put back under
  var/parquet/<la_code>/ and `latest` points at it, so the hub and BI tools see the
  rebuilt figures.
- CSC_PSEUDONYM_KEY must be the key the council has always used (docs/deployment.md):
  with another key every person_key would change.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from csc_pipeline import nights, workspace
from csc_pipeline.config import Settings, settings

log = logging.getLogger(__name__)


class RebuildError(RuntimeError):
    """The rebuild could not complete; the live warehouse is untouched."""


def _steps():
    """The nightly steps, in order (land, validate, build, publish; steps/<step>.run),
    and the quarantine exception they raise."""
    from csc_pipeline.steps import build, land, publish, validate
    from csc_pipeline.steps.errors import NightQuarantined

    return (land.run, validate.run, build.run, publish.run), NightQuarantined


def select_night(la_code: str, cfg: Settings):
    """The nightly's choice of the council's next pending night (steps/discover.py)."""
    from csc_pipeline.steps.discover import select_night as select

    return select(la_code, None, cfg)


def _with(cfg: Settings, **changes) -> Settings:
    """A copy of the (frozen) settings with other paths: the staging folder."""
    return cfg.model_copy(update=changes)


def live_warehouse(la_code: str, cfg: Settings) -> Path:
    from csc_pipeline.councils import warehouse_for

    return warehouse_for(la_code, cfg)


def rebuild(la_code: str, cfg: Settings | None = None) -> dict:
    """Replay every kept night of a council into a fresh warehouse; swap it in when done."""
    cfg = cfg or settings()
    steps, quarantined_exc = _steps()
    live = live_warehouse(la_code, cfg)
    if workspace.work_path(live).exists():
        raise RebuildError(
            f"council {la_code}: a night is in flight ({workspace.work_path(live)} exists); "
            "pause csc_nightly or let the run finish, then rebuild"
        )
    archive = nights.complete_nights(cfg.exports_root, la_code)
    if not archive:
        raise RebuildError(f"council {la_code}: no complete night under {cfg.exports_root}")
    live.parent.mkdir(parents=True, exist_ok=True)
    stage = live.parent / f".rebuild_{la_code}"  # same file system: the swap is a rename
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    target = stage / live.name
    stage_cfg = _with(cfg, var_dir=stage / "var", warehouse=target)
    started = time.perf_counter()
    replayed, skipped, seconds = [], [], []
    try:
        for night in archive:
            t0 = time.perf_counter()
            ref = {
                "la_code": la_code,
                "export_date": night.export_date,
                "path": str(night.path),
                "warehouse": str(target),
            }
            step = None
            try:
                for step in steps:
                    ref = step(ref, stage_cfg)
            except quarantined_exc as exc:
                skipped.append({"export_date": night.export_date, "reason": str(exc)[:500]})
                log.warning("rebuild %s: night %s quarantined, skipped", la_code, night.export_date)
                continue
            except Exception as exc:
                name = getattr(step, "__module__", "") + "." + getattr(step, "__name__", "?")
                raise RebuildError(
                    f"council {la_code}: night {night.export_date} failed in {name}: {exc}"
                ) from exc
            seconds.append(time.perf_counter() - t0)
            replayed.append(night.export_date)
            log.info(
                "rebuild %s: night %s replayed in %.1fs (%d/%d)",
                la_code,
                night.export_date,
                seconds[-1],
                len(replayed) + len(skipped),
                len(archive),
            )
        if not replayed:
            raise RebuildError(f"council {la_code}: every kept night was quarantined")
        backup = _swap_in(target, live)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _restore_parquet(stage_cfg, cfg, la_code, replayed[-1])
    shutil.rmtree(stage, ignore_errors=True)
    total = time.perf_counter() - started
    return {
        "la_code": la_code,
        "warehouse": str(live),
        "previous_warehouse": str(backup) if backup else None,
        "nights_replayed": replayed,
        "nights_skipped": skipped,
        "seconds": round(total, 1),
        "seconds_per_night": round(sum(seconds) / len(seconds), 2),
    }


def _swap_in(rebuilt: Path, live: Path) -> Path | None:
    """Rename the rebuilt file over the live one, keeping the old file beside it."""
    workspace.checkpoint(rebuilt)
    backup = None
    if live.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = live.with_name(f"{live.name}.before-rebuild-{stamp}")
        os.link(live, backup)  # a second name for the old file: the rename below is atomic
    os.replace(rebuilt, live)
    stale_wal = live.with_name(live.name + ".wal")
    if stale_wal.exists():  # the old file's log must not be replayed onto the new one
        stale_wal.unlink()
    return backup


def _restore_parquet(stage_cfg: Settings, cfg: Settings, la_code: str, export_date: str) -> None:
    """Put the last replayed night's Parquet in place and point `latest` at it."""
    source = stage_cfg.parquet_dir / la_code / export_date
    council_dir = cfg.parquet_dir / la_code
    council_dir.mkdir(parents=True, exist_ok=True)
    incoming = council_dir / f".{export_date}.rebuild"
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(source, incoming)
    final = council_dir / export_date
    old = council_dir / f".{export_date}.old"
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    incoming.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    tmp = council_dir / ".latest.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(export_date, target_is_directory=True)
    tmp.replace(council_dir / "latest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "la_codes",
        nargs="*",
        help="councils to rebuild (default: CSC_LA_CODES; required, never 'all' by accident)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = settings()
    codes = args.la_codes or list(cfg.la_codes or ())
    if not codes:
        parser.error("name the councils: make rebuild CSC_LA_CODES=999[,998]")
    failed = 0
    for code in codes:
        try:
            result = rebuild(code, cfg)
        except RebuildError as exc:
            print(f"rebuild {code}: FAILED, live warehouse untouched: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(
            f"rebuild {code}: {len(result['nights_replayed'])} nights replayed in "
            f"{result['seconds']:.0f}s ({result['seconds_per_night']:.1f}s a night), "
            f"{len(result['nights_skipped'])} quarantined and skipped; swapped in "
            f"{result['warehouse']} (previous file kept as {result['previous_warehouse']})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
