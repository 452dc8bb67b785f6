"""``scsctl completion bash|zsh``: a shell completion script, made from the argument parser itself.

The script knows every command, sub-command and option this scsctl has (so it is made again when
scsctl changes, never kept by hand), the choices of options that have them (``--role``,
``--format``...), files and folders where an option or argument takes one, and serial ports and
``emu://`` for ``--port``::

    source <(scsctl completion bash)          # bash: now, or in ~/.bashrc
    source <(scsctl completion zsh)           # zsh (after compinit): now, or in ~/.zshrc
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Command", "commands", "register", "render_bash", "render_zsh"]

PORT_WORDS = "emu:// emu://tonic-burst-16 emu://drg-4x4 emu://hf10k-16"
"""What ``--port`` completes to besides the serial devices present (``/dev/tty{USB,ACM}*``, ``/dev/serial/by-id``)."""
_FILE_METAVARS = {"FILE", "OUT"}
_DIR_METAVARS = {"DIR"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script for bash or zsh, made from this scsctl's own commands and options. "
        "bash: `source <(scsctl completion bash)` (or add that line to ~/.bashrc); zsh: `source <(scsctl "
        "completion zsh)` after compinit (or in ~/.zshrc).",
    )
    parser.add_argument("shell", choices=("bash", "zsh"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .main import build_parser

    tree = commands(build_parser())
    sys.stdout.write(render_bash(tree) if args.shell == "bash" else render_zsh(tree))
    return 0


@dataclass
class Command:
    """One command path (``()`` for scsctl itself, ``("log", "show")``...) and what it takes."""

    path: tuple[str, ...]
    help: str = ""
    children: dict[str, str] = field(default_factory=dict)
    """Sub-command -> its help."""
    options: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    """Option that takes a value -> how to complete it: ``choices:a b``, ``file``, ``dir``, ``port`` or ``none``."""
    files: bool = False
    """Its positional arguments are files (completed as such)."""
    arguments: list[str] = field(default_factory=list)
    """The choices of its positional arguments (``bash``, ``zsh``)."""


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help_text: str = "") -> list[Command]:
    """Every command path under ``parser``, depth first."""
    node = Command(path, help_text)
    out = [node]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, child in action.choices.items():
                node.children[name] = helps.get(name, "")
                out += commands(child, (*path, name), helps.get(name, ""))
            continue
        if not action.option_strings:
            if action.choices is not None:
                node.arguments += [str(c) for c in action.choices]
            elif action.dest != argparse.SUPPRESS and (action.metavar in _FILE_METAVARS or action.dest == "file"):
                node.files = True
            continue
        if action.help == argparse.SUPPRESS:
            continue
        node.options += [o for o in action.option_strings if o.startswith("--") or len(action.option_strings) == 1]
        if action.nargs == 0:
            continue
        for option in action.option_strings:
            node.values[option] = _value_kind(action)
    return out


def _value_kind(action: argparse.Action) -> str:
    if action.choices is not None:
        return "choices:" + " ".join(str(c) for c in action.choices)
    if "--port" in action.option_strings:
        return "port"
    if action.metavar in _FILE_METAVARS or action.dest in ("output", "capture", "log_file"):
        return "file"
    if action.metavar in _DIR_METAVARS:
        return "dir"
    return "none"


def _path_key(path: tuple[str, ...]) -> str:
    return " ".join(path)


def _quote(text: str) -> str:
    """Single-quoted for bash and zsh."""
    return "'" + text.replace("'", "'\\''") + "'"


def _walk_cases(tree: list[Command]) -> list[str]:
    """``case`` lines that extend the command path with a word that names a sub-command."""
    lines = []
    for node in tree:
        key = _path_key(node.path)
        for child in node.children:
            lines.append(f'            {_quote(key + "|" + child)}) cmdpath="${{cmdpath:+$cmdpath }}{child}" ;;')
    return lines


def render_bash(tree: list[Command]) -> str:
    value_cases: list[str] = []
    for node in tree:
        key = _path_key(node.path)
        for option, kind in sorted(node.values.items()):
            pattern = _quote(f"{key}|{option}")
            if kind.startswith("choices:"):
                reply = f'COMPREPLY=($(compgen -W {_quote(kind.removeprefix("choices:"))} -- "$cur"))'
            elif kind == "file":
                reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
            elif kind == "dir":
                reply = 'COMPREPLY=($(compgen -d -- "$cur"))'
            elif kind == "port":
                reply = 'COMPREPLY=($(compgen -W "$(_scsctl_ports)" -- "$cur"))'
            else:
                reply = "COMPREPLY=()"
            value_cases.append(f"        {pattern}) {reply}; return ;;")
    word_cases = []
    for node in tree:
        opts, cmds = " ".join(node.options), " ".join([*node.children, *node.arguments])
        word_cases.append(
            f"        {_quote(_path_key(node.path))}) opts={_quote(opts)}; cmds={_quote(cmds)}; "
            f"files={'1' if node.files else ''} ;;"
        )
    return "\n".join(
        [
            "# bash completion for scsctl (made by `scsctl completion bash`; source it, e.g. from ~/.bashrc)",
            "_scsctl_ports() {",
            f"    echo {PORT_WORDS}",
            "    ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/* 2>/dev/null",
            "}",
            "",
            "_scsctl() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            '    local cmdpath="" i opts cmds files',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        case "$cmdpath|${COMP_WORDS[i]}" in',
            *_walk_cases(tree),
            "        esac",
            "    done",
            '    case "$cmdpath|$prev" in',
            *value_cases,
            "    esac",
            '    case "$cmdpath" in',
            *word_cases,
            "    esac",
            '    if [[ "$cur" == -* ]]; then',
            '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            '    elif [[ -n "$cmds" ]]; then',
            '        COMPREPLY=($(compgen -W "$cmds" -- "$cur"))',
            '    elif [[ -n "$files" ]]; then',
            '        COMPREPLY=($(compgen -f -- "$cur"))',
            "    else",
            '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            "    fi",
            "}",
            "complete -o filenames -F _scsctl scsctl",
            "",
        ]
    )


def _zsh_describe(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "'\\''")


def render_zsh(tree: list[Command]) -> str:
    value_cases: list[str] = []
    for node in tree:
        key = _path_key(node.path)
        for option, kind in sorted(node.values.items()):
            pattern = _quote(f"{key}|{option}")
            if kind.startswith("choices:"):
                reply = f"compadd -- {kind.removeprefix('choices:')}"
            elif kind == "file":
                reply = "_files"
            elif kind == "dir":
                reply = "_files -/"
            elif kind == "port":
                reply = f"compadd -- {PORT_WORDS} /dev/ttyUSB*(N) /dev/ttyACM*(N) /dev/serial/by-id/*(N)"
            else:
                reply = ":"
            value_cases.append(f"        {pattern}) {reply}; return ;;")
    word_cases = []
    for node in tree:
        described = " ".join(
            [f"'{_zsh_describe(name)}:{_zsh_describe(text)}'" for name, text in node.children.items()]
            + [f"'{_zsh_describe(word)}'" for word in node.arguments]
        )
        word_cases.append(
            f"        {_quote(_path_key(node.path))}) opts=({' '.join(node.options)}); cmds=({described}); "
            f"files={'1' if node.files else ''} ;;"
        )
    return "\n".join(
        [
            "#compdef scsctl",
            "# zsh completion for scsctl (made by `scsctl completion zsh`; source it after compinit, e.g. in ~/.zshrc)",
            "_scsctl() {",
            "    local cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmdpath='' files='' i",
            "    local -a opts cmds",
            "    for (( i = 2; i < CURRENT; i++ )); do",
            '        case "$cmdpath|${words[i]}" in',
            *_walk_cases(tree),
            "        esac",
            "    done",
            '    case "$cmdpath|$prev" in',
            *value_cases,
            "    esac",
            '    case "$cmdpath" in',
            *word_cases,
            "    esac",
            "    if [[ $cur == -* ]]; then",
            "        compadd -- $opts",
            "    elif (( ${#cmds} )); then",
            "        _describe -t commands 'scsctl command' cmds",
            "    elif [[ -n $files ]]; then",
            "        _files",
            "    else",
            "        compadd -- $opts",
            "    fi",
            "}",
            'if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then',
            '    _scsctl "$@"',
            "else",
            "    compdef _scsctl scsctl",
            "fi",
            "",
        ]
    )
