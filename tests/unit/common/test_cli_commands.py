"""`chargebus <command>` builds only that command's parser: `chargebus run` does not import the technician's tools."""

from __future__ import annotations

import argparse

from services.cli.main import COMMANDS, build_parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_the_table_names_every_command_and_the_module_that_registers_it() -> None:
    assert _commands(build_parser()) == set(COMMANDS)  # help and a mistyped command still list them all
    for command in COMMANDS:
        assert command in _commands(build_parser(command)), command


def test_run_builds_the_run_command_alone() -> None:
    assert _commands(build_parser("run")) == {"run"}
    assert _commands(build_parser("no-such-command")) == set(COMMANDS)
