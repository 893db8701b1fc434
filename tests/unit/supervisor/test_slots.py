"""Which installed version the station starts from, a version on trial, and going back (pure + the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.supervisor import slots
from services.supervisor.slots import MAX_TRIAL_STARTS, BootState


def slot(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "chargebus").write_text("#!/bin/sh\n")
    return str(path)


@pytest.fixture
def three(tmp_path: Path) -> tuple[str, str, str]:
    return slot(tmp_path, "factory"), slot(tmp_path, "v2"), slot(tmp_path, "v3")


def test_the_first_start_makes_the_running_installation_the_factory_slot(tmp_path: Path) -> None:
    state = slots.load(tmp_path / "boot.json", "/opt/venv")
    assert state == BootState(active="/opt/venv", factory="/opt/venv")


def test_an_install_is_on_trial_until_installed_and_keeps_the_previous(three: tuple[str, str, str]) -> None:
    factory, v2, _ = three
    state = slots.switching(BootState(factory, factory), v2, "0.2.0")
    assert (state.active, state.previous, state.trial_version) == (v2, factory, "0.2.0")
    started = slots.at_start(state)
    assert started.trial_starts == 1 and started.active == v2
    done = slots.installed(started)
    assert done.trial_version is None and done.outcome is not None and done.outcome.installed
    assert slots.at_start(done) == done  # no trial: nothing to count


def test_a_version_that_never_reaches_the_check_goes_back_after_its_chances(three: tuple[str, str, str]) -> None:
    factory, v2, _ = three
    state = slots.switching(BootState(factory, factory), v2, "0.2.0")
    for _ in range(MAX_TRIAL_STARTS):
        state = slots.at_start(state)
        assert state.active == v2
    back = slots.at_start(state)
    assert back.active == factory and back.trial_version is None and back.previous is None
    assert back.outcome is not None and not back.outcome.installed and "did not start" in (back.outcome.reason or "")


def test_a_rollback_goes_to_previous_and_a_deleted_slot_falls_back(three: tuple[str, str, str], tmp_path: Path
                                                                   ) -> None:
    factory, v2, v3 = three
    state = slots.switching(BootState(v2, factory, previous=factory), v3, "0.3.0")
    back = slots.rolled_back(state, "gateway not online")
    assert back.active == v2 and back.outcome is not None and back.outcome.reason == "gateway not online"
    gone = BootState(active=str(tmp_path / "deleted"), factory=factory, previous=v2)
    assert slots.at_start(gone).active == v2


def test_the_state_file_round_trips_and_a_broken_one_is_kept_aside(three: tuple[str, str, str], tmp_path: Path
                                                                   ) -> None:
    factory, v2, _ = three
    path = tmp_path / "firmware" / "boot.json"
    state = slots.installed(slots.at_start(slots.switching(BootState(factory, factory), v2, "0.2.0")))
    slots.save(path, state)
    assert slots.load(path, factory) == state
    path.write_text("{not json")
    assert slots.load(path, "/running") == BootState("/running", "/running")
    assert len(list(path.parent.glob("boot.json.unreadable-*"))) == 1


def test_the_supervisor_restarts_itself_with_the_slot_s_own_entry_point(three: tuple[str, str, str]) -> None:
    assert slots.exec_argv(three[1]) == [str(Path(three[1]) / "bin" / "chargebus"), "run"]
