"""The launcher runs the warm-up each preloaded module declares, and a failing one stops none of the others."""

from __future__ import annotations

import sys
import types

import pytest

from services.supervisor import launcher


def test_each_declared_warm_up_runs_once_and_a_failure_is_reported(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("no schema here")

    modules = {"warm.broken": broken, "warm.fine": lambda: ran.append("fine"), "warm.none": None}
    for name, hook in modules.items():
        module = types.ModuleType(name)
        if hook is not None:
            module.warm_up = hook  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)
    launcher.warm_up((*modules, "warm.not_imported"))
    assert ran == ["fine"]
    assert "warm-up of warm.broken failed: RuntimeError('no schema here')" in capsys.readouterr().err
