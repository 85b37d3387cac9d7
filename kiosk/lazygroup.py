"""A click group that imports a command's module only when that command runs.

``checkpoint-kiosk --help`` and ``status`` must not pay for Kivy, OpenCV or requests,
which the ``run``, ``scanners`` and ``sync`` commands need. So the group knows its lazy
commands by name only: ``--help`` lists them with a short help kept beside the name,
and only the command asked for is imported. A command whose module cannot be imported
(Kivy missing on a server machine) answers with one sentence and exit code 2, and every
other command still works.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any, NoReturn

import click

from kiosk.exitcodes import ExitCode
from kiosk.messages import render_both

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


@cache
def plugins(group: str) -> dict[str, EntryPoint]:
    """The commands other packages register under entry-point GROUP, by name (read once)."""
    from importlib.metadata import entry_points  # only to list or find a plugin

    return {entry.name: entry for entry in entry_points(group=group)}


class LazyGroup(click.Group):
    """A group with commands of its own plus commands imported on first use.

    ``lazy_commands``: name → ``"module:attribute"``, commands of this package.
    ``plugin_group``: an entry-point group; each entry point is a command of that name,
    from a package this one must not import by name.
    ``listed_help``: name → the one-line help ``--help`` lists for a lazy command without
    importing it (a test keeps it equal to the command's own). A plugin not in it is listed
    with the module it comes from.
    """

    lazy_commands: Mapping[str, str] = {}
    plugin_group: str | None = None
    listed_help: Mapping[str, str] = {}

    def _plugins(self) -> dict[str, EntryPoint]:
        return plugins(self.plugin_group) if self.plugin_group else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands, *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        try:
            command = self._import(cmd_name)
        except ImportError as exc:
            command = unavailable(cmd_name, exc)
        if command is not None:
            self.add_command(command, cmd_name)
        return command

    def _import(self, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[name].partition(":")
            command = getattr(import_module(module), attribute)
        elif name in self._plugins():
            command = self._plugins()[name].load()
        else:
            return None
        if not isinstance(command, click.Command):
            raise TypeError(f"{name!r} names {command!r}, not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but a command not imported yet is listed from ``listed_help``."""
        listed = [
            (name, self.commands.get(name) or click.Command(name, help=self._listed_help(name))) for name in self.list_commands(ctx)
        ]
        rows = [(name, command) for name, command in listed if not command.hidden]
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def _listed_help(self, name: str) -> str:
        if name in self.listed_help:
            return self.listed_help[name]
        entry = self._plugins().get(name)
        return f"(plugin: {entry.module})" if entry is not None else ""


def unavailable(name: str, error: ImportError) -> click.Command:
    """A stand-in for a command that cannot be imported here: one sentence, exit code 2,
    whatever arguments (even --help) it is given."""

    def explain(args: tuple[str, ...]) -> NoReturn:
        click.echo(render_both("command_unavailable", command=name, error=str(error)), err=True)
        sys.exit(ExitCode.USAGE)  # a part not installed: a configuration problem

    params: list[Any] = [click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)]
    return click.Command(
        name,
        callback=explain,
        params=params,
        add_help_option=False,
        help=render_both("command_unavailable", command=name, error=str(error)),
        context_settings={"ignore_unknown_options": True},
    )
