"""The contract is data: every topic declared once, owned, documented, with a valid example; the
generated files in proto/ match it; services meet only on the bus."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest

from services.common import contract, proto_gen
from services.common.contract import TOPICS, Address, Kind, Topic
from services.common.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {*SERVICES, "supervisor", "every service"}


def test_proto_files_are_in_sync_with_the_contract() -> None:
    assert proto_gen.stale() == [], "run `make proto` and commit proto/"


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.path)
def test_topic_is_owned_documented_and_named_by_the_convention(topic: Topic) -> None:
    assert topic.owner in OWNERS
    assert len(topic.doc) > 20
    segments = topic.path.split("/")
    assert segments[0] == "chargebus"
    if topic.kind is Kind.HEALTH:
        assert segments[2:] == ["health"]
    elif topic.kind is Kind.CONFIG:
        assert segments[1] in ("config", "settings")  # the protocol's keys, the station's settings
    else:
        assert segments[1] == topic.owner and segments[2] == topic.kind.value
    if topic.kind is Kind.CMD:
        assert topic.qos == 1 and not topic.retain and topic.reply is not None


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.path)
def test_example_is_valid_for_model_and_generated_schema(topic: Topic) -> None:
    assert topic.example is not None, "every topic carries one example"
    topic.payload.model_validate(topic.example)
    schema = json.loads((ROOT / proto_gen.SCHEMAS / f"{topic.payload.__name__}.json").read_text())
    jsonschema.validate(topic.example, schema)


def test_unknown_fields_are_refused_by_every_model() -> None:
    for topic in TOPICS:
        assert topic.payload.model_config.get("extra") == "forbid", topic.payload.__name__


def test_every_topic_is_found_by_its_concrete_name() -> None:
    address = Address(caller="chargebus-cli-1", request="0f1e2d3c", deadline=1_765_000_000.123)
    for topic in TOPICS:
        params = {p: "1" for p in topic.params}
        concrete = topic.request_path(address, **params) if topic.kind is Kind.CMD else topic.render(**params)
        found = contract.find(concrete)
        assert found is not None and found[0] is topic
        if topic.kind is Kind.CMD:
            assert Address.of(concrete) == address
            assert topic.match(topic.render(**params)) is None  # a command without an address is no request


def test_a_request_address_is_three_levels_with_a_whole_number_deadline() -> None:
    command = contract.power.GET_STATE
    base = command.render()
    assert command.filter == f"{base}/+/+/+"
    for bad in (f"{base}/c/r", f"{base}/c/r/12.5", f"{base}/c/r/soon", f"{base}/c//1", f"{base}//r/1",
                f"{base}/c/r/1/extra", f"{base}/c/r/{'9' * 16}"):
        assert command.match(bad) is None, bad
    assert contract.replier("chargebus/power/reply/chargebus-cli-1/0f1e", "chargebus-cli-1") == ("power", "0f1e")
    for other in ("chargebus/power/reply/chargebus-cli-2/0f1e", "chargebus/power/reply/chargebus-cli-1",
                  "chargebus/power/reply/chargebus-cli-1/0f1e/x", "chargebus//reply/chargebus-cli-1/0f1e"):
        assert contract.replier(other, "chargebus-cli-1") is None, other


def test_topic_parameters_cannot_inject_wildcards() -> None:
    topic = contract.power.CONNECTOR
    for bad in ("1/2", "#", "+", ""):
        with pytest.raises(ValueError):
            topic.render(connector_id=bad)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_services_meet_only_on_the_bus() -> None:
    """No service imports another service's package; services.common imports no service."""
    packages = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").is_file())
    offenders = []
    for package in packages:
        allowed = {"common", package}
        if package == "cli":
            allowed.add("supervisor")  # `chargebus run` is the supervisor
            allowed.add("firmware")  # the image format: `chargebus firmware pack` writes what the service verifies
            allowed.add("csms")  # `chargebus csms` is the bench's dev CSMS, no station service
        for file in (ROOT / "services" / package).rglob("*.py"):
            for name in _imports(file):
                parts = name.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] not in allowed:
                    offenders.append(f"{file.relative_to(ROOT)} imports {name}")
    assert offenders == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_no_float_of_the_contract_takes_nan_or_infinity(bad: float) -> None:
    """One stored Infinity (an energy register, a limit) would break every later read."""
    floats = 0
    for topic in TOPICS:
        assert topic.example is not None
        for name, field in topic.payload.model_fields.items():
            if field.annotation in (float, float | None) and name in topic.example:
                floats += 1
                with pytest.raises(ValueError):
                    topic.payload.model_validate({**topic.example, name: bad})
    assert floats > 10
