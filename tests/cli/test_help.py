"""Every command explains itself with an example, its help names the defaults the code uses, and
the CLI starts without heavy imports."""

import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from p2pstore.cli import cli
from p2pstore.cli.options import SERIES_DEFAULT
from p2pstore.scenario import Scenario


def walk(group: click.Group, ctx: click.Context, path=()):
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, click.Context(cmd, parent=ctx, info_name=name), (*path, name))


def without_examples(root: click.Group) -> list[tuple[str, ...]]:
    """The commands (paths under ``root``) whose own ``--help`` shows no example: a command's help
    counts, never its group's."""
    runner = CliRunner()
    missing = []
    for path, _ in walk(root, click.Context(root, info_name="root")):
        result = runner.invoke(root, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith("Usage: "), path
        if "Example" not in result.output:
            missing.append(path)
    return missing


def test_every_command_has_help_with_an_example():
    commands = {path for path, _ in walk(cli, click.Context(cli, info_name="p2pstore"))}
    expected = {("run",), ("runs", "list"), ("runs", "show"), ("runs", "cancel"), ("runs", "retry"),
                ("runs", "wait"), ("bills",), ("query",), ("db", "upgrade"), ("db", "current"),
                ("enqueue",), ("worker",), ("schedule", "add"), ("compare",), ("report",), ("export",)}
    assert expected <= commands
    assert without_examples(cli) == []


def test_the_example_check_fails_for_a_command_without_examples():
    """A top-level command (and a subcommand) without examples is caught even though the group
    above it has some."""

    @click.group()
    def root():
        """A group.

        \b
        Examples:
          root plain
        """

    @root.command()
    def plain():
        """A command without any."""

    @root.command()
    def shown():
        """A command with one.

        \b
        Example:
          root shown
        """

    @root.group()
    def sub():
        """Subcommands.

        \b
        Example:
          root sub leaf
        """

    @sub.command()
    def leaf():
        """Another command without any."""

    assert without_examples(root) == [("plain",), ("sub", "leaf")]


def _option_help(output: str, flag: str) -> str:
    """The help text of ``flag`` in a command's ``--help``, on one line."""
    match = re.search(rf"^  {re.escape(flag)}\b(.*?)(?=^  -|\Z)", output, re.S | re.M)
    assert match, f"{flag} not in help"
    return " ".join(match.group(1).split())


@pytest.mark.parametrize("command", ["run", "enqueue"])
def test_help_shows_the_scenario_defaults_the_code_uses(command):
    """Each default the help names is the one a scenario without flags gets."""
    spec = Scenario()
    output = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    expected = {
        "--seed": f"default {spec.seed})",
        "--consumers": f"default {spec.consumers})",
        "--prosumers": f"default {spec.prosumers})",
        "--days": f"default {spec.days};",
        "--start": f"default {spec.start};",
        "--generator": f"default {spec.generator})",
        "--mechanism": f"default: {', '.join(spec.mechanisms)})",
        "--series": f"[default: {SERIES_DEFAULT[command]}]",
    }
    for flag, default in expected.items():
        assert default in _option_help(output, flag), (command, flag, _option_help(output, flag))


def test_cli_starts_without_heavy_imports():
    code = ("import sys; from p2pstore.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'pandas', 'sqlalchemy', 'matplotlib', 'apscheduler', 'psycopg')"
            " if m in sys.modules]\nprint('HEAVY=' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in out.stdout, out.stdout[-200:]
