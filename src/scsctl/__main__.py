"""``python -m scsctl``: the same as the ``scsctl`` command."""

from __future__ import annotations

import sys

from .cli.main import main

sys.exit(main())
