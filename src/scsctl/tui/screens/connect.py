"""Choose what to connect to: serial ports, USB devices whose ids match a profile, the emulator.

With ``auto_connect`` the screen connects to its target at once (how the app starts: the port
given with --port, else the built-in emulator) and says so; if that fails it stays, with the
reason, for the user to choose. The profile is matched from the device's model once connected.
"""

from __future__ import annotations

import contextlib
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from ...controller import ConnectTarget, PortListing, emulator_targets, list_ports
from ..widgets import scs
from ..widgets.banners import MessageBar
from ..widgets.footer import StopFooter
from ..widgets.stop_button import StopButton
from ..wording import explain

__all__ = ["ConnectScreen"]


class ConnectScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f5", "refresh_ports", "Refresh ports", show=False),
    ]

    def __init__(self, target: ConnectTarget, *, auto_connect: bool = False) -> None:
        super().__init__()
        self.target = target
        self.auto_connect = auto_connect
        self.connecting = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="connect-box"):
            yield Static(Text("Connect to a stimulator", style="bold"), id="connect-title")
            yield Static("", id="connect-status")
            yield OptionList(id="ports")
            with Horizontal(id="connect-row"):
                # Short enough to read whole at 80 columns; emu:// and usb:// ports are in the list above.
                yield Input(placeholder="or type a port: /dev/ttyUSB0, socket://host:port", id="url")
                yield Button("Connect", id="connect", variant="primary")
            role = self.target.role
            limits = "clinical limits" if role == "technician" else "engineering limits"
            yield Static(
                Text(
                    f"role: {role} ({limits}); the profile is matched from the device's model"
                    + (f"; profile asked for: {self.target.profile}" if self.target.profile else ""),
                    style="dim",
                ),
                id="connect-role",
            )
            yield StopButton()
        yield MessageBar(id="messages")  # STOP results and the device's messages show here too
        yield StopFooter()

    def on_resize(self) -> None:
        # No header and STOP one line high: the ports list keeps room for every choice (a list that
        # needs a scroll bar wraps its longest line), and the reason a connection failed is whole.
        compact = self.size.height < 40
        self.set_class(compact, "-compact")
        self.query_one(StopButton).compact = compact

    def on_mount(self) -> None:
        self.title = "scsctl"
        self.sub_title = "connect"
        self.query_one("#url", Input).value = "" if self.target.is_emulator else self.target.url
        self._list_ports()
        if self.auto_connect:
            self.connect(self.target)
        else:
            self._say(Text("Choose a port (Enter) or type one.", style="bold"))
            self.query_one("#ports", OptionList).focus()

    def _say(self, text: Text) -> None:
        self.query_one("#connect-status", Static).update(text)

    # --- the list ----------------------------------------------------------------------------------

    def _list_ports(self) -> None:
        options = self.query_one("#ports", OptionList)
        options.clear_options()
        options.add_options(_emulator_options())
        app = scs(self)
        lister = app.port_lister

        def show(result: PortListing) -> None:
            for port in result.ports:
                words = [port.url, port.kind]
                if port.profile:
                    words.append(f"profile {port.profile}")
                if port.description:
                    words.append(port.description)
                options.add_option(Option("  ".join(words), id=port.url))
            if not result.ports:
                options.add_option(
                    Option(
                        Text("no serial ports or matching USB devices found", style="dim"), id="-none-", disabled=True
                    )
                )
            for problem in result.problems:
                options.add_option(Option(Text(problem, style="yellow"), disabled=True))

        def work() -> None:
            try:
                result = lister() if lister is not None else list_ports()
            except Exception as err:  # noqa: BLE001 - a listing problem is shown; the emulator is still offered
                result = PortListing([], [f"ports not listed: {err}"])
            with contextlib.suppress(RuntimeError):  # the app has gone
                self.app.call_from_thread(show, result)

        self.run_worker(work, thread=True, group="ports", exclusive=True, exit_on_error=False)

    def action_refresh_ports(self) -> None:
        self._list_ports()

    # --- connecting --------------------------------------------------------------------------------

    def connect(self, target: ConnectTarget) -> None:
        if self.connecting:
            return
        self.connecting = True
        self.target = target
        self._say(Text(f"Connecting to {target.describe()} ...", style="bold yellow"))
        scs(self).connect_to(target, self._failed)

    def _failed(self, err: BaseException) -> None:
        self.connecting = False
        explanation = explain(err, f"connecting to {self.target.url}")
        self._say(
            Text.assemble(
                (explanation.title + "\n", "bold red"),
                explanation.text,
                ("\nChoose another port below, or type one.", "bold"),
            )
        )
        self.query_one("#ports", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        url = event.option.id
        if url and not url.startswith("-"):
            self.connect(scs(self).target.with_url(url) if url != self.target.url else self.target)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._connect_typed()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "connect":
            self._connect_typed()

    def _connect_typed(self) -> None:
        url = self.query_one("#url", Input).value.strip()
        if not url:
            self._say(Text("Type a port first, or choose one from the list.", style="bold red"))
            return
        self.connect(self.target.with_url(url) if url != self.target.url else self.target)

    def action_back(self) -> None:
        if scs(self).device is not None and len(self.app.screen_stack) > 2:
            self.app.pop_screen()


def _emulator_options() -> list[Option]:
    return [Option(target.describe(), id=target.url) for target in emulator_targets()]
