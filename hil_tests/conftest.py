"""The policy this repository's own conformance runs are admitted by.

``pyproject.toml`` asks for the engineer role (``scs_role = "engineer"``): the negative tests send
raw frames that bypass the host's guard, to show that the device refuses them itself. Like any
session's, that role must be granted by a site policy (``scsctl.trust``). On the in-process
emulator (``emu://``, no device and no patient) this suite grants it to the OS user running it,
through the API, and the audit log of the run says so (the policy's ``source``). On a device
behind a port the site policy decides, as for every other session: a run whose OS user the
policy does not name is a technician's run, and the raw-frame tests skip saying why.
"""

from __future__ import annotations

import pytest

from scsctl.pytest_plugin.options import is_in_process
from scsctl.trust import OsUser, Policy, system_policy


@pytest.fixture(scope="session")
def scs_policy(scs_port: str) -> Policy:
    if is_in_process(scs_port):
        return Policy.granting(
            OsUser.current().name,
            source="hil_tests/conftest.py: this repository's conformance run on the in-process emulator",
        )
    return system_policy()
