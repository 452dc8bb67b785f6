"""``python -m firmware_protocol.kit [--check]``: regenerate the C header and the dissector."""

from __future__ import annotations

import sys

from .generate import main

sys.exit(main())
