"""Sample nightly exports of fictional councils, for development, tests and demos.

`generate(out_dir, ...)` simulates each council's children's social care history once
(model.py: referrals to closure; workforce.py: teams, staff and allocations;
audits.py: case-file audits), views it as known on each of `nights` consecutive
export dates (history.py), adds realistic mess (messy.py) and optionally faults
(faults.py), and writes the folders exactly as ../shared/spec/export-contract.md
describes (writer.py). The figures it reproduces, and the constants tuned to do so,
are in calibration.py. Command line: `python -m csc_generator --help`.
"""

from .export import DEFAULT_END_DATE, DEFAULT_SEED, NightSummary, generate
from .faults import FAULT_KINDS, Fault, FaultError
from .names import COUNCILS, Council

__all__ = [
    "COUNCILS",
    "DEFAULT_END_DATE",
    "DEFAULT_SEED",
    "FAULT_KINDS",
    "Council",
    "Fault",
    "FaultError",
    "NightSummary",
    "generate",
]
