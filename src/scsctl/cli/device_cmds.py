"""Device commands: info, status, programs, program, select, start, stop, amplitude, commit,
impedance, usage. Each opens the device, does one thing through the controller, and exits."""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..units import format_dhz, format_ms, format_ua, format_us
from .common import add_device_options, emit, line_speed, open_device, require_port, table, whole_number


def register(sub: Any) -> None:
    def command(name: str, help_text: str, handler: Any, *, json_output: bool = True) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        add_device_options(p, json_output=json_output)
        p.set_defaults(handler=handler)
        _values_may_be_negative(p)
        return p

    command("info", "identify the device: model, serial, firmware, protocol, contacts", _info)
    command("status", "state, active slot, present amplitude, battery, faults", _status)
    command("programs", "list the programs stored in the device", _programs)

    p = command("program", "write a program to a slot (checked by the safety guard, then read back)", _program)
    p.add_argument("--slot", type=whole_number("--slot"), required=True, help="program slot, from 0")
    p.add_argument("--electrodes", required=True, help='contacts: "1+ 2-" or "1+,2-50%%,3-50%%"')
    p.add_argument("--amplitude", default="0mA", help="e.g. 3.5mA or 3500uA (default 0mA)")
    p.add_argument("--pulse-width", required=True, help="e.g. 300us")
    p.add_argument("--rate", required=True, help="e.g. 50Hz, 10kHz (burst: how often bursts repeat)")
    p.add_argument("--waveform", choices=["tonic", "burst", "hf"], default="tonic")
    p.add_argument("--burst-pulses", type=whole_number("--burst-pulses"), default=0, help="pulses per burst (burst)")
    p.add_argument("--intra-burst-rate", default="0Hz", help="rate of the pulses inside a burst, e.g. 500Hz")
    p.add_argument("--recharge", choices=["active", "passive"], default="active")
    p.add_argument("--cycle-on", default="0s", help="cycling: seconds on (0: continuous)")
    p.add_argument("--cycle-off", default="0s", help="cycling: seconds off")
    p.add_argument("--ramp", default="0s", help="ramp-up time at start, e.g. 2s")
    p.add_argument("--ramp-down", default="0s", help="ramp-down time, e.g. 1s")
    p.add_argument("--patient-max", help="the patient's maximum amplitude, e.g. 6mA (default: the profile's)")
    p.add_argument("--select", action="store_true", help="also make it the selected program")
    _acknowledge(p)

    p = command("select", "make a slot the selected program", _select, json_output=False)
    p.add_argument("--slot", type=whole_number("--slot"), required=True)

    p = command("start", "start the selected program (or --slot); it ramps up over its ramp time", _start)
    p.add_argument("--slot", type=whole_number("--slot"))
    p.add_argument(
        "--tethered",
        action="store_true",
        help="stop stimulation when this session ends or the link is lost (default: keep running)",
    )
    _acknowledge(p)

    command("stop", "stop all stimulation now", _stop, json_output=False)

    p = command("amplitude", "change the running amplitude (tentative unless --commit)", _amplitude)
    p.add_argument("value", help="e.g. 4mA")
    p.add_argument("--commit", action="store_true", help="make it part of the running program")
    _acknowledge(p)

    command("commit", "make the present tentative amplitude part of the running program", _commit)
    command("impedance", "measure every contact's impedance", _impedance)
    command("usage", "usage counters and the device's event log", _usage)


def _acknowledge(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--acknowledge",
        action="append",
        default=[],
        metavar="WARNING",
        help="go on past a warning (its id is printed when a command is held back by it)",
    )


def _info(args: argparse.Namespace) -> int:
    with open_device(args) as dev:
        ident = dev.identity
        emit(
            args,
            ident.as_dict(),
            table(
                [
                    ("model", f"{ident.profile} (0x{ident.model_id:04X})"),
                    ("serial", ident.serial),
                    ("firmware", ident.firmware),
                    ("hardware", ident.hardware_revision),
                    ("protocol", ident.protocol_version),
                    ("contacts", ident.contacts),
                    ("slots", ident.program_slots),
                    ("capabilities", ", ".join(ident.capabilities)),
                ]
            ),
        )
    return 0


def _status_dict(status: Any) -> dict[str, Any]:
    return {
        "state": status.state.name.lower(),
        "active_slot": None if status.active_slot == 0xFF else status.active_slot,
        "amplitude_ua": status.amplitude_ua,
        "setpoint_ua": status.setpoint_ua,
        "tentative": bool(status.status_flags & status.status_flags.TENTATIVE),
        "battery_pct": status.battery_pct,
        "battery_mv": status.battery_mv,
        "faults": [f.name.lower() for f in type(status.fault_flags) if f and f in status.fault_flags],
        "uptime_s": status.uptime_s,
    }


def _status_text(d: dict[str, Any], link: str, device_line: str) -> str:
    return table(
        [
            ("state", d["state"]),
            ("active slot", "-" if d["active_slot"] is None else d["active_slot"]),
            (
                "amplitude",
                format_ua(d["amplitude_ua"])
                + (f" (set to {format_ua(d['setpoint_ua'])}" + (", tentative" if d["tentative"] else "") + ")"),
            ),
            ("battery", f"{d['battery_pct']} % ({d['battery_mv']} mV)"),
            ("faults", ", ".join(d["faults"]) or "none"),
            ("uptime", f"{d['uptime_s']} s"),
            ("link", link),
            ("device line", device_line),
        ]
    )


def _status(args: argparse.Namespace) -> int:
    from firmware_protocol.messages import to_fields

    from ..diagnostics import device_counters_text, link_text

    with open_device(args) as dev:
        d = _status_dict(dev.status())
        counters = dev.counters()
        stats = dev.link.stats
        # The link's counts of this session, and the device's since its power-on (when it keeps them).
        data = {**d, "link": stats.as_dict(), "device_counters": None if counters is None else to_fields(counters)}
        device_line = (
            "since power-on: " + device_counters_text(counters)
            if counters is not None
            else "the device keeps no counters (no COUNTERS capability)"
        )
        emit(args, data, _status_text(d, "this session: " + link_text(stats), device_line))
    return 0


def _program_dict(p: Any) -> dict[str, Any]:
    from firmware_protocol.messages import SetProgram, to_fields

    from ..parsing import format_electrodes

    d = to_fields(SetProgram(p))
    d["electrodes"] = format_electrodes(p.contacts)
    d["waveform"] = p.waveform.name.lower()
    d["recharge"] = p.recharge.name.lower()
    del d["contacts"]
    return d


def _program_line(p: Any) -> str:
    from ..parsing import format_electrodes

    text = (
        f"slot {p.slot}: {format_electrodes(p.contacts)}  {format_ua(p.amplitude_ua)}  {format_us(p.pulse_width_us)}  "
        f"{format_dhz(p.rate_dhz)}  {p.waveform.name.lower()}"
    )
    if p.ramp_up_ms:
        text += f"  ramp {format_ms(p.ramp_up_ms)}"
    if p.patient_max_ua:
        text += f"  patient max {format_ua(p.patient_max_ua)}"
    return text


def _programs(args: argparse.Namespace) -> int:
    with open_device(args) as dev:
        programs = dev.programs()
        emit(
            args,
            [_program_dict(p) for p in programs.values()],
            "\n".join(_program_line(p) for p in programs.values()) or "no programs stored",
        )
    return 0


def _program(args: argparse.Namespace) -> int:
    from firmware_protocol.constants import Recharge, Waveform
    from firmware_protocol.messages import Program

    from .. import parsing

    # Every value is read before the port is opened: a typo changes nothing and logs no session.
    values = {
        "slot": args.slot,
        "amplitude_ua": parsing.amplitude_ua(args.amplitude),
        "pulse_width_us": parsing.pulse_width_us(args.pulse_width),
        "rate_dhz": parsing.rate_dhz(args.rate),
        "waveform": {"tonic": Waveform.TONIC, "burst": Waveform.BURST, "hf": Waveform.HIGH_FREQUENCY}[args.waveform],
        "burst_pulses": args.burst_pulses,
        "intra_burst_rate_dhz": parsing.rate_dhz(args.intra_burst_rate),
        "recharge": Recharge.PASSIVE if args.recharge == "passive" else Recharge.ACTIVE,
        "cycle_on_s": parsing.duration_s(args.cycle_on, "cycle-on"),
        "cycle_off_s": parsing.duration_s(args.cycle_off, "cycle-off"),
        "ramp_up_ms": parsing.duration_ms(args.ramp, "ramp"),
        "ramp_down_ms": parsing.duration_ms(args.ramp_down, "ramp-down"),
    }
    patient_max_ua = None if args.patient_max is None else parsing.amplitude_ua(args.patient_max)
    parsing.check_electrodes(args.electrodes)  # all but the device's contact count, checked below
    with open_device(args) as dev:
        notices: list[str] = []
        if patient_max_ua is None:
            patient_max_ua = dev.profile.patient_max_default_ua
            default = format_ua(patient_max_ua)
            notices.append(f"patient maximum {default}: the profile's default (--patient-max to change)")
        program = Program(
            contacts=parsing.electrodes(args.electrodes, dev.identity.contacts), patient_max_ua=patient_max_ua, **values
        )
        outcome = dev.write_program(program, acknowledge=frozenset(args.acknowledge))
        if args.select:
            dev.select(args.slot)
        written = dev.read_program(args.slot)
        emit(
            args,
            {"program": _program_dict(written), "notices": [*notices, *outcome.notices]},
            "\n".join([*notices, *outcome.notices, "written and read back: " + _program_line(written)]),
        )
    return 0


def _select(args: argparse.Namespace) -> int:
    with open_device(args) as dev:
        dev.select(args.slot)
        print(f"slot {args.slot} selected")
    return 0


def _start(args: argparse.Namespace) -> int:
    with open_device(args, tethered=args.tethered) as dev:
        outcome = dev.start(args.slot, acknowledge=frozenset(args.acknowledge))
        assert outcome.status is not None
        d = _status_dict(outcome.status)
        note = (
            "stimulation stops when this command exits (tethered)"
            if args.tethered
            else "the program keeps running after this command exits; `scsctl stop` ends it"
        )
        emit(args, {**d, "notices": list(outcome.notices)}, "\n".join([*outcome.notices, "started", note]))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from ..controller import stop_now

    require_port(args)
    # STOP goes out before anything else: no profile, audit log or handshake stands in its way.
    report = stop_now(args.port, data_dir=args.data_dir, operator=args.operator, role=args.role, capture=args.capture,
                      baud=line_speed(args, stopping=True))  # fmt: skip
    print(f"stopped: all outputs off (confirmed by the device after {report.confirmed_after_ms:g} ms, {report.path})")
    return 0


_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def _values_may_be_negative(parser: argparse.ArgumentParser) -> None:
    """Let ``-1mA`` reach the command as a value, to be refused naming it ("cannot be negative"),
    instead of argparse taking it for an unknown option and saying the value is missing. argparse
    does this itself only for bare numbers (``-1``); these commands have no option that looks
    like a number."""
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = _NEGATIVE_VALUE


def _amplitude(args: argparse.Namespace) -> int:
    from .. import parsing

    target = parsing.amplitude_ua(args.value)
    with open_device(args) as dev:
        outcome = dev.set_amplitude(target, commit=args.commit, acknowledge=frozenset(args.acknowledge))
        assert outcome.status is not None
        d = _status_dict(outcome.status)
        tail = (
            "committed to the running program"
            if args.commit
            else "tentative: it goes back to the committed amplitude when this command ends (--commit keeps it)"
        )
        emit(
            args,
            {**d, "notices": list(outcome.notices)},
            "\n".join([*outcome.notices, f"amplitude {format_ua(target)}", tail]),
        )
    return 0


def _commit(args: argparse.Namespace) -> int:
    with open_device(args) as dev:
        outcome = dev.commit()
        assert outcome.status is not None
        d = _status_dict(outcome.status)
        emit(args, d, f"committed {format_ua(d['setpoint_ua'])} to the running program")
    return 0


def _impedance(args: argparse.Namespace) -> int:
    with open_device(args) as dev:
        record = dev.measure_impedance()
        rows: list[dict[str, Any]] = [
            {"contact": i + 1, "impedance_ohm": r.impedance_ohm, "status": r.status.name.lower()}
            for i, r in enumerate(record.readings)
        ]
        text = "\n".join(
            f"contact {i + 1:>2}  "
            + ("over range" if r.impedance_ohm == 0xFFFF else f"{r.impedance_ohm:>5} ohm")
            + ("" if r.status.name == "OK" else f"  {r.status.name}")
            for i, r in enumerate(record.readings)
        )
        emit(args, rows, text)
    return 0


def _usage(args: argparse.Namespace) -> int:
    from ..units import format_event_detail, format_s

    with open_device(args) as dev:
        usage = dev.usage()
        events = [
            {"device_time_s": e.device_time_s, "code": e.code.name.lower(), "detail": e.detail,
             "detail_text": format_event_detail(e.code.name, e.detail)}
            for e in usage.events
        ]  # fmt: skip
        d: dict[str, Any] = {
            "stimulation_s": usage.stimulation_s,
            "start_count": usage.start_count,
            "amplitude_change_count": usage.amplitude_change_count,
            "power_on_count": usage.power_on_count,
            "fault_count": usage.fault_count,
            "events": events,
        }
        rows: list[tuple[str, Any]] = [
            ("stimulation", format_s(usage.stimulation_s)),
            ("starts", usage.start_count),
            ("amplitude changes", usage.amplitude_change_count),
            ("power-ons", usage.power_on_count),
            ("faults", usage.fault_count),
        ]
        lines = [table(rows), "", "event log:"]
        for e in usage.events:
            detail = format_event_detail(e.code.name, e.detail)
            lines.append(f"  {format_s(e.device_time_s):>10}  {e.code.name.lower()}  {detail}".rstrip())
        emit(args, d, "\n".join(lines if events else [*lines, "  (empty)"]))
    return 0
