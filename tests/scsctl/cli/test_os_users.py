"""The command line as two real, unprivileged OS users under the real (default) site policy.

Runs only as root, as CI does: it creates a technician and an engineer (a member of the group
``scsctl-engineers``, created too if the machine has none), runs ``scsctl`` as each of them
(``setpriv``), and removes them again. As any other user it is skipped; ``test_trust_cli.py`` covers
the same cases through the policy interface. It is one test, so that one worker owns the users.
"""

from __future__ import annotations

import grp
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scsctl import trust

from ..test_trust import widened_copy

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to create OS users and a group; test_trust_cli.py covers it otherwise"
)


def _admin(*argv: str) -> None:
    """useradd and friends; they take a lock on /etc/passwd, so retry while another holds it."""
    for _ in range(50):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr:
            raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
        time.sleep(0.1)
    raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")


@dataclass
class Users:
    technician: str
    engineer: str
    folder: Path

    def scsctl(self, user: str, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder), "LANG": "C.UTF-8"}
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", sys.executable, "-m",
                   "scsctl.cli.main", *argv, "--data-dir", str(self.folder / f"data-{user}")]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=self.folder, check=False,
                              timeout=120)  # fmt: skip


@pytest.fixture
def users() -> Iterator[Users]:
    if trust.POLICY_PATH.exists():
        pytest.skip(f"{trust.POLICY_PATH} exists: this machine has a site policy of its own")
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tag = os.urandom(3).hex()
    found = Users(f"scsq-t-{tag}", f"scsq-e-{tag}", Path(tempfile.mkdtemp(prefix="scsctl-users-")))
    group = trust.DEFAULT_ENGINEER_GROUP
    try:
        grp.getgrnam(group)
        made_group = False
    except KeyError:
        _admin("groupadd", group)
        made_group = True
    made: list[str] = []
    try:
        _admin("useradd", "-M", "-U", "-s", "/usr/sbin/nologin", found.technician)
        made.append(found.technician)
        _admin("useradd", "-M", "-U", "-G", group, "-s", "/usr/sbin/nologin", found.engineer)
        made.append(found.engineer)
        found.folder.chmod(0o755)
        for user in made:
            data = found.folder / f"data-{user}"
            data.mkdir()
            shutil.chown(data, user, user)
        yield found
    finally:
        for user in made:
            _admin("userdel", user)
        if made_group:
            _admin("groupdel", group)
        shutil.rmtree(found.folder, ignore_errors=True)


def test_technicians_and_engineers_as_the_default_policy_makes_them(users: Users) -> None:
    wide = widened_copy(users.folder)
    wide.chmod(0o644)
    digest = hashlib.sha256(wide.read_bytes()).hexdigest()
    program = ["program", "--port", "emu://tonic-burst-16", "--profile", str(wide), "--slot", "0", "--electrodes",
               "6+ 7-", "--pulse-width", "200us", "--rate", "50Hz", "--patient-max", "12mA"]  # fmt: skip
    policy = "members of the group scsctl-engineers (built-in default policy, as there is no /etc/scsctl/policy.toml)"

    # A technician: the widened copy is refused, naming where it comes from; so is the engineer role.
    done = users.scsctl(users.technician, *program)
    assert done.returncode == 3, done.stderr
    assert f"profile tonic-wide comes from {wide} (a user's own file" in done.stderr
    assert policy in done.stderr
    done = users.scsctl(users.technician, "info", "--port", "emu://", "--role", "engineer")
    assert done.returncode == 3, done.stderr
    assert f"the engineer role is not granted to the OS user '{users.technician}'" in done.stderr
    assert users.scsctl(users.technician, "info", "--port", "emu://").returncode == 0
    done = users.scsctl(users.technician, "log", "show")
    assert f"os user {users.technician}" in done.stdout
    assert f"{users.technician}/technician" in done.stdout and "/engineer" not in done.stdout

    # An engineer of the group: allowed, and the log names the profile by its hash.
    done = users.scsctl(users.engineer, *program, "--role", "engineer")
    assert done.returncode == 0, done.stderr
    assert "patient max 12.0 mA" in done.stdout
    done = users.scsctl(users.engineer, "log", "show")
    assert f"os user {users.engineer}  profile tonic-wide sha256 {digest[:16]} (user:{wide})" in done.stdout
    assert f"{users.engineer}/engineer" in done.stdout
    assert users.scsctl(users.engineer, "log", "verify").returncode == 0

    # Whoever runs it, the operator's name is checked before anything is recorded.
    done = users.scsctl(users.engineer, "info", "--port", "emu://", "--operator", "ana\nroot/engineer  FAKE")
    assert done.returncode == 2 and "not printable" in done.stderr
