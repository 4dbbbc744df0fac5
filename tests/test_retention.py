"""Per-night Parquet and Data Docs folders are kept for CSC_KEEP_NIGHTS nights."""

from __future__ import annotations

import pytest

from csc_pipeline import config, retention


def _nights(root, *names):
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "kpi_monthly.parquet").write_bytes(b"x")


def test_keeps_the_newest_nights_and_never_the_links_or_other_files(tmp_path):
    _nights(tmp_path, "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20")
    (tmp_path / "latest").symlink_to("2026-11-20", target_is_directory=True)
    (tmp_path / "notes").mkdir()
    removed = retention.prune_nights(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == ["2026-11-17", "2026-11-18"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-11-19",
        "2026-11-20",
        "latest",
        "notes",
    ]
    assert (tmp_path / "latest" / "kpi_monthly.parquet").is_file()


def test_the_night_just_published_survives_even_when_it_is_old(tmp_path):
    _nights(tmp_path, "2026-10-01", "2026-11-19", "2026-11-20")  # a backfill of 1 Oct
    retention.prune_nights(tmp_path, keep=1, protect="2026-10-01")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10-01", "2026-11-20"]


def test_missing_folder_and_bad_settings(tmp_path, monkeypatch):
    assert retention.prune_nights(tmp_path / "absent", keep=3) == []
    with pytest.raises(ValueError, match="at least 1"):
        retention.prune_nights(tmp_path, keep=0)
    monkeypatch.setenv("CSC_KEEP_NIGHTS", "7")
    assert config.settings().keep_nights == 7
    monkeypatch.delenv("CSC_KEEP_NIGHTS")
    assert config.settings().keep_nights == 35
    monkeypatch.setenv("CSC_KEEP_NIGHTS", "a week")
    with pytest.raises(config.ConfigError, match="CSC_KEEP_NIGHTS must be a whole number"):
        config.settings()
