"""`python -m csc_pipeline.dashboard [--port N] [--address A]`: start the dashboard.

Binds to 127.0.0.1 unless told otherwise (CSC_DASHBOARD_ADDRESS): the app trusts the
identity header of the sign-on proxy in front of it, so it must not be reachable
around that proxy. Port: CSC_DASHBOARD_PORT, default 8501.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def command(address: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default=os.environ.get("CSC_DASHBOARD_ADDRESS", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("CSC_DASHBOARD_PORT", "8501"))
    )
    args = parser.parse_args(argv)
    cmd = command(args.address, args.port)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
