"""``scsctl hil-report FILE``: the traceability table of a hardware-in-the-loop test record.

The record is what ``pytest hil_tests --scs-record FILE`` writes (``scsctl.pytest_plugin``):
requirement -> hazard -> tests -> outcomes, with each test's measurements and limits.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    from ..pytest_plugin import report  # imports no pytest (the package loads its fixtures lazily)

    parser = subparsers.add_parser(
        "hil-report",
        help="print the traceability table of a HIL test record (pytest --scs-record FILE)",
        description="Print requirement -> tests -> outcomes, with measurements and their limits, from the JSON "
        "test record written by `pytest hil_tests --scs-record FILE`.",
    )
    report.add_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..pytest_plugin import report

    return report.run(args)
