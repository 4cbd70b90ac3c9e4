"""Every command explains itself with an example, and the CLI starts without heavy imports."""

import subprocess
import sys

import click
from click.testing import CliRunner

from p2pstore.cli import cli


def walk(group: click.Group, ctx: click.Context, path=()):
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, click.Context(cmd, parent=ctx, info_name=name), (*path, name))


def test_every_command_has_help_with_an_example():
    ctx = click.Context(cli, info_name="p2pstore")
    commands = dict(walk(cli, ctx))
    expected = {("run",), ("runs", "list"), ("runs", "show"), ("runs", "cancel"), ("runs", "retry"),
                ("runs", "wait"), ("bills",), ("query",), ("db", "upgrade"), ("db", "current"),
                ("enqueue",), ("worker",), ("schedule", "add"), ("compare",), ("report",), ("export",)}
    assert expected <= set(commands)
    runner = CliRunner()
    for path, cmd in commands.items():
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith("Usage: "), path
        # groups show examples for their subcommands; leaf commands carry their own
        assert "Example" in result.output or (isinstance(cmd, click.Group) is False and "Example" in (
            runner.invoke(cli, [*path[:-1], "--help"]).output)), path


def test_cli_starts_without_heavy_imports():
    code = ("import sys; from p2pstore.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'pandas', 'sqlalchemy', 'matplotlib', 'apscheduler', 'psycopg')"
            " if m in sys.modules]\nprint('HEAVY=' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in out.stdout, out.stdout[-200:]
