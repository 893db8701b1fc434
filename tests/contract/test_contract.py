"""The contract is data: every topic declared once, owned, documented, with a valid example; the
generated files in proto/ match it; services meet only on the bus."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest

from services.common import contract, proto_gen
from services.common.contract import TOPICS, Kind, Topic
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
    for topic in TOPICS:
        concrete = topic.render(**{p: "1" for p in topic.params})
        found = contract.find(concrete)
        assert found is not None and found[0] is topic


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
