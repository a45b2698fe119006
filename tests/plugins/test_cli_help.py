"""Every ``userops`` command and option explains itself in ``--help`` (README: the CLI
is documented where users look first)."""

from __future__ import annotations

import argparse

from userops.cli import build_parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_and_option_has_help_text():
    parser = build_parser()
    commands = _subcommands(parser)
    assert set(commands) == {
        "generate",
        "run",
        "backfill",
        "step",
        "check",
        "summary",
        "demo",
        "dbt-vars",
    }
    missing = [
        f"userops {name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in [("", parser), *commands.items()]
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not action.help
    ]
    assert not missing, missing
    top = parser.format_help()
    for name in commands:  # each command is listed with its one-line purpose
        assert name in top


def test_dbt_vars_prints_the_nights_vars(capsys, monkeypatch):
    """``userops dbt-vars`` gives plain dbt the vars a night passes: the day's as-of
    bounds in the configured time zone, and the settings' dbt overrides."""
    import json

    from userops.cli import main

    monkeypatch.setenv("USEROPS_TIMEZONE", "America/New_York")
    assert main(["dbt-vars", "--date", "1997-07-01"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["as_of_date"] == "1997-07-01"
    assert printed["as_of_end_utc"] == "1997-07-02 04:00:00"  # EDT midnight in UTC
    assert printed["business_timezone"] == "America/New_York"
