"""``scsctl trial``: what a technician types and reads, against ``scsctl emulator --pty`` where a
device is needed (as the README's walkthrough does it)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from scsctl.audit import DB_NAME
from scsctl.cli.main import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv("SCSCTL_PORT", raising=False)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--data-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="module")
def pty_port(pty_emulator: str) -> str:
    return pty_emulator


def new_week(run: Run) -> None:
    """Trial STUDY-7, baseline 7, started six days ago, with six diary days: 6, 5, 5, 4, 3, 3."""
    code, out, err = run("trial", "new", "--id", "STUDY-7", "--serial", "EMU5101-00000000", "--profile",
                         "tonic-burst-16", "--baseline", "7", "--pain-area", "low-back,foot-left",
                         "--start", "today-6")  # fmt: skip
    assert code == 0, err
    assert "trial STUDY-7 recorded" in out
    for ago, nrs, hours, drug in [(6, 6, "20", "same"), (5, 5, "21.5", "same"), (4, 5, "22", "same"),
                                  (3, 4, "22", "less"), (2, 3, "23", "less"), (1, 3, "22", "less")]:  # fmt: skip
        code, _, err = run("trial", "diary", "STUDY-7", "--date", f"today-{ago}", "--nrs", str(nrs), "--hours",
                           hours, "--analgesics", drug)  # fmt: skip
        assert code == 0, err


@pytest.fixture(scope="module")
def week_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("week")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SCSCTL_PORT", raising=False)

        def invoke(*argv: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([*argv, "--data-dir", str(folder)])
            return code, out.getvalue(), err.getvalue()

        new_week(invoke)
    return folder / DB_NAME


@pytest.fixture
def week(week_template: Path, tmp_path: Path) -> None:
    """``new_week`` already run in this test's data folder (made once, copied: the tests stay fast)."""
    shutil.copy(week_template, tmp_path / DB_NAME)


def test_a_week_of_diary_entries_gives_a_report_to_check_by_hand(run: Run, tmp_path: Path) -> None:
    new_week(run)  # the whole walk through the CLI once; other tests start from a copy of its result
    code, out, err = run("trial", "diary", "STUDY-7", "--nrs", "2", "--hours", "12", "--analgesics", "less")
    assert code == 0, err
    assert "day  7" in out
    code, out, err = run("trial", "report", "STUDY-7", "--format", "md")
    assert code == 0, err
    # Last three days 3, 3, 2 against a baseline of 7: mean 8/3 = 2.7, (7 - 8/3) / 7 = 61.9 % -> 61 %.
    assert "success: mean NRS of the last 3 diary days (2.7) is at least 50 % below the baseline (7): 61 %" in out
    for fmt in ("html", "json"):
        target = tmp_path / f"report.{fmt}"
        code, out, err = run("trial", "report", "STUDY-7", "--format", fmt, "--output", str(target))
        assert code == 0, err
        assert f"report written to {target}" in out
    assert "<svg" in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "report.json").read_text())["assessment"]["reduction_whole_pct"] == 61


@pytest.mark.usefixtures("week")
def test_an_edit_is_shown_with_its_history(run: Run) -> None:
    code, out, err = run("trial", "diary", "STUDY-7", "--date", "today-1", "--nrs", "4", "--edit", "--reason",
                         "patient corrected the card")  # fmt: skip
    assert code == 0, err
    assert "revision 2" in out
    code, out, _ = run("trial", "show", "STUDY-7", "--json")
    data = json.loads(out)
    assert [d["nrs"] for d in data["diary"]] == [6, 5, 5, 4, 3, 4]
    assert [(h["nrs"], h["reason"]) for h in data["diary_history"]] == [(3, "patient corrected the card")]
    code, out, _ = run("trial", "show", "STUDY-7", "--history")
    assert "NRS 3, revision 1, replaced" in out
    code, out, _ = run("trial", "list")
    assert out.startswith("STUDY-7  EMU5101-00000000 (tonic-burst-16)")
    assert "6 diary days" in out


@pytest.mark.usefixtures("week")
def test_a_correction_is_in_the_audit_log_with_who_which_day_and_the_old_and_new_values(run: Run) -> None:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    code, _, err = run("trial", "diary", "STUDY-7", "--date", "today-1", "--nrs", "4", "--hours", "21", "--edit",
                       "--reason", "patient corrected the card", "--operator", "nurse-b")  # fmt: skip
    assert code == 0, err
    code, out, err = run("log", "show")
    assert code == 0, err
    [line] = [line for line in out.splitlines() if "TRIAL_DIARY_CORRECTION" in line]
    assert " nurse-b/" in line
    assert "trial=STUDY-7" in line and f"day={yesterday}" in line and "revision=2" in line
    assert "reason=patient corrected the card" in line
    assert "old={'nrs': 3, 'stimulation_s': 79200}" in line and "new={'nrs': 4, 'stimulation_s': 75600}" in line
    code, out, _ = run("log", "show", "--json")
    [record] = [r for r in json.loads(out) if r["name"] == "TRIAL_DIARY_CORRECTION"]
    assert record["detail"]["old"] == {"nrs": 3, "stimulation_s": 79200}
    assert record["operator"] == "nurse-b"


@pytest.mark.usefixtures("week")
def test_a_refused_correction_is_not_in_the_audit_log(run: Run) -> None:
    code, _, _ = run("trial", "diary", "STUDY-7", "--date", "today-1", "--edit", "--reason", "typo")
    assert code == 2
    _, out, _ = run("log", "show")
    assert "TRIAL_DIARY_CORRECTION" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--nrs", "11"), "outside the scale"),
        (("--nrs", "5.5"), "no fractions"),
        (("--nrs", "3", "--date", "today-9"), "is before trial STUDY-7 started"),
        (("--nrs", "3", "--date", "today+1"), "is not a date"),
        (("--nrs", "3", "--date", (date.today() + timedelta(days=1)).isoformat()), "is in the future"),
        (("--nrs", "3", "--hours", "30"), "0 to 24 hours"),
        (("--nrs", "3", "--date", "today-1"), "has a diary entry for"),
        (("--date", "today-1", "--edit", "--reason", "typo"), "nothing to change"),
        (("--date", "today-1", "--nrs", "2", "--edit"), "--edit needs --reason"),
        ((), "--nrs is required"),
    ],
)
@pytest.mark.usefixtures("week")
def test_bad_diary_input_exits_2_naming_the_problem_and_stores_nothing(
    run: Run, argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run("trial", "diary", "STUDY-7", *argv)
    assert code == 2
    assert message in err
    _, shown, _ = run("trial", "show", "STUDY-7", "--json")
    assert [d["nrs"] for d in json.loads(shown)["diary"]] == [6, 5, 5, 4, 3, 3]
    assert json.loads(shown)["diary_history"] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("trial", "show", "T-1999-0001"), "no trial 'T-1999-0001'"),
        (("trial", "report", "T-1999-0001"), "no trial 'T-1999-0001'"),
        (("trial", "diary", "T-1999-0001", "--nrs", "3"), "no trial 'T-1999-0001'"),
        (("trial", "coverage", "STUDY-7", "--slot", "0", "--regions", "low-back"), "coverage needs the device"),
        (("trial", "coverage", "STUDY-7", "--slot", "0", "--regions", "knees"), "unknown body region 'knees'"),
        (("trial", "new", "--serial", "X1", "--profile", "no-such-model", "--baseline", "5"), "no-such-model"),
        (("trial", "new", "--serial", "X1", "--baseline", "5"), "--serial needs --profile"),
        (("trial", "new", "--baseline", "5"), "which device?"),
        (("trial", "new", "--serial", "X1", "--profile", "tonic-burst-16", "--baseline", "5", "--id", "Smith"),
         "looks like a name"),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("week")
def test_bad_trial_commands_exit_2_with_a_clear_message(run: Run, argv: tuple[str, ...], message: str) -> None:
    code, _, err = run(*argv)
    assert code == 2
    assert message in err
    _, out, _ = run("trial", "list", "--json")
    assert [t["trial_id"] for t in json.loads(out)] == ["STUDY-7"]


def test_a_report_before_any_diary_entry_is_refused(run: Run) -> None:
    code, _, err = run("trial", "new", "--serial", "X1", "--profile", "drg-4x4", "--baseline", "6", "--id", "S-1")
    assert code == 0, err
    code, _, err = run("trial", "report", "S-1", "--format", "html")
    assert code == 2
    assert "trial S-1 has no diary entry yet" in err


def test_reading_commands_do_not_create_a_database(run: Run, tmp_path: Path) -> None:
    assert run("trial", "list") == (0, "no trials recorded\n", "")
    code, _, err = run("trial", "show", "T-2026-0001")
    assert code == 2
    assert "nothing has been recorded there yet" in err
    assert not (tmp_path / DB_NAME).exists()


def test_regions_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trial", "regions"]) == 0
    out = capsys.readouterr().out
    assert "  low-back-left\n" in out
    assert "without -left/-right means both sides" in out


def test_coverage_and_usage_come_from_the_device(run: Run, pty_port: str) -> None:
    def device(*argv: str) -> tuple[int, str, str]:
        return run(*argv, "--port", pty_port)

    assert device("stop")[0] == 0
    assert device("impedance")[0] == 0
    for slot, electrodes in ((0, "1+ 2-"), (1, "4+ 5-")):
        code, _, err = device("program", "--slot", str(slot), "--electrodes", electrodes, "--pulse-width", "300us",
                              "--rate", "50Hz", "--patient-max", "6mA")  # fmt: skip
        assert code == 0, err
    code, out, err = device("trial", "new", "--baseline", "8", "--pain-area", "low-back", "--id", "HW-1")
    assert code == 0, err
    assert re.search(r"EMU5101-\d{8} \(tonic-burst-16\)", out)  # each emulator run has its own serial
    assert device("start", "--slot", "0")[0] == 0
    assert device("amplitude", "0.5mA", "--commit")[0] == 0  # one step: no ramp to wait for
    code, out, err = device("trial", "coverage", "HW-1", "--slot", "0", "--regions", "low-back-left", "--comfort", "4")
    assert code == 0, err
    assert "P1  " in out and "slot 0: 1+ 2-  0.5 mA  300 us  50 Hz  tonic" in out
    assert "1 of 2 pain regions (50 %)" in out
    code, _, err = device("trial", "coverage", "HW-1", "--slot", "1", "--regions", "none", "--left-active")
    assert code == 2
    assert "the device has slot 0 selected, not slot 1" in err
    assert device("stop")[0] == 0
    assert device("select", "--slot", "1")[0] == 0
    code, out, err = device("trial", "coverage", "HW-1", "--slot", "1", "--regions", "low-back", "--left-active",
                            "--json")  # fmt: skip
    assert code == 0, err
    p2 = json.loads(out)
    assert (p2["label"], p2["left_active"], p2["program"]["settings"]["slot"]) == ("P2", True, 1)
    code, _, err = device("trial", "diary", "HW-1", "--nrs", "4")
    assert code == 2
    assert "a day's use is counted from a reading 12 to 36 h old" in err  # the last reading is minutes old
    code, out, err = device("trial", "diary", "HW-1", "--nrs", "4", "--hours", "20", "--json")
    assert code == 0, err
    assert json.loads(out)["stimulation_source"] == "patient"
    code, _, err = device("trial", "coverage", "HW-1", "--slot", "3", "--regions", "none")
    assert code == 2
    assert re.search(r"slot 3 of EMU5101-\d{8} holds no program", err)


def test_trial_actions_are_in_the_audit_log(run: Run) -> None:
    new_week(run)
    code, out, err = run("log", "show")
    assert code == 0, err
    assert "TRIAL_NEW" in out and "STUDY-7" in out
    assert out.count("TRIAL_DIARY") == 6
