"""The contract's declarations against the code: the ACL is generated from them, so a declared caller that the
code never needs is a write the broker grants for nothing, and one the code needs but does not declare is a
request the bus refuses at run time (`tests/service/broker/test_bus_trust.py`). Read from the source, not run."""

from __future__ import annotations

import ast
from pathlib import Path

from services.common import contract
from services.common.bus_accounts import ACCOUNTS
from services.common.contract import TOPICS, Kind, Topic, access
from services.common.contract.station_settings import SETTING

ROOT = Path(__file__).resolve().parents[2] / "services"
CONTRACT_MODULES = {"auth", "common", "firmware", "metering", "ocpp_gateway", "power", "sim", "smart_charging",
                    "supervisor"}


def _topic_names() -> dict[tuple[str, str], Topic]:
    """(contract module, constant) → the topic it names."""
    import importlib

    found: dict[tuple[str, str], Topic] = {}
    for module in CONTRACT_MODULES:
        loaded = importlib.import_module(f"services.common.contract.{module}")
        for name, value in vars(loaded).items():
            if isinstance(value, Topic):
                found[(module, name)] = value
    return found


def named_topics(package: Path) -> set[str]:
    """The paths of the contract topics a package's code names (`auth.AUTHORIZE`, `from ...auth import LOOKUP`)."""
    names = _topic_names()
    found: set[str] = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}  # local name → contract module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "services.common.settings_view":
                found.add(SETTING.path)  # the shared reader of the station settings
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("services.common.contract"):
                for alias in node.names:
                    module = node.module.rsplit(".", 1)[-1]
                    if alias.name in CONTRACT_MODULES:
                        aliases[alias.asname or alias.name] = alias.name
                    elif (module, alias.name) in names:
                        found.add(names[(module, alias.name)].path)
                    elif module == "contract" and isinstance(getattr(contract, alias.name, None), Topic):
                        found.add(getattr(contract, alias.name).path)  # re-exported by the package
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                topic = names.get((aliases[node.value.id], node.attr))
                if topic is not None:
                    found.add(topic.path)
    return found


def test_every_command_is_declared_for_exactly_the_accounts_whose_code_calls_it() -> None:
    named = {account: named_topics(ROOT / account) for account in ACCOUNTS}
    wrong = []
    for topic in TOPICS:
        if topic.kind is not Kind.CMD or access.EVERY_SERVICE in topic.subscribers:
            continue
        callers = {a for a in ACCOUNTS if topic.path in named[a] and not access.owns(a, topic)}
        if callers != set(topic.subscribers):
            wrong.append(f"{topic.path}: declared {sorted(topic.subscribers)}, called by {sorted(callers)}")
    assert not wrong, "\n".join(wrong)


def test_the_scan_sees_what_it_must() -> None:
    # the scan itself: a caller through a module alias and one through an imported constant
    assert "chargebus/sim/cmd/plug" in named_topics(ROOT / "cli")  # `from ...contract import sim as contract`
    assert "chargebus/auth/cmd/authorize" in named_topics(ROOT / "ocpp_gateway")
    assert "chargebus/{service}/health" in named_topics(ROOT / "power")  # `from ...contract import HEALTH`
    assert "chargebus/settings/{name}" in named_topics(ROOT / "auth")  # through the shared SettingsView


def test_every_state_and_event_is_declared_for_exactly_the_services_whose_code_reads_it() -> None:
    """The read side of the same rule, for the station's services (the whole-bus views, `access.WATCHERS`, read
    through `chargebus/#` without naming topics; their declarations are checked by what the broker lets through)."""
    services = set(ACCOUNTS) - set(access.WATCHERS)
    named = {account: named_topics(ROOT / account) for account in services}
    wrong = []
    for topic in TOPICS:
        if topic.kind is Kind.CMD or access.EVERY_SERVICE in topic.subscribers:
            continue
        every = topic.owner == access.EVERY_SERVICE  # health: each writes its own, a reader names the topic
        readers = {a for a in services if topic.path in named[a] and (every or not access.owns(a, topic))}
        declared = set(topic.subscribers) - set(access.WATCHERS)
        if readers != declared:
            wrong.append(f"{topic.path}: declared {sorted(declared)}, read by {sorted(readers)}")
    assert not wrong, "\n".join(wrong)
