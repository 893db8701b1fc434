"""Only the gateway speaks OCPP: the other services and the shared contract use the station's own words.

The scan looks for 1.6 vocabulary in the code of every service outside the gateway (the dev CSMS is the other
side of the protocol, so it is not scanned either) and in `services/common/`: message names, status and error
codes, configuration keys, reading contexts and measurands, and the snake_case field names of 1.6 payloads.
Comments and docstrings count too: they are read as the code's own description.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ocpp.v16 import enums

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_PACKAGES = ("ocpp_gateway", "csms")
PROTOCOL_FILES = ("cli/csms_cmd.py",)  # `chargebus csms send`: the dev CSMS's client sends OCPP by name
_VOCABULARY_ENUMS = (
    enums.Action, enums.ChargePointStatus, enums.ChargePointErrorCode, enums.ConfigurationKey, enums.ReadingContext,
    enums.Measurand, enums.Reason, enums.FirmwareStatus, enums.DiagnosticsStatus, enums.ChargingProfilePurposeType,
    enums.AuthorizationStatus, enums.RegistrationStatus, enums.MessageTrigger, enums.UpdateStatus,
)
# one plain English word (Available, Charging, Reset, Voltage) says nothing of a protocol; a compound or dotted
# name (StatusNotification, SuspendedEVSE, Energy.Active.Import.Register) does
_COMPOUND = re.compile(r"[A-Z][a-z]+[A-Z]|\.")
# names of the hardware itself, and the cryptography library's exception, which a 1.6 enum happens to use too
_NOT_PROTOCOL = frozenset({"SoC", "EmergencyStop", "InvalidSignature"})
WORDS = frozenset(
    {m.value for e in _VOCABULARY_ENUMS for m in e if _COMPOUND.search(m.value)} - _NOT_PROTOCOL
    | {"id_tag", "idTag", "parent_id_tag", "parentIdTag", "id_tag_info", "idTagInfo", "expiry_date"}
)
_PATTERN = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, WORDS), key=len, reverse=True)) + r")(?![\w])")

def scanned() -> list[Path]:
    services = ROOT / "services"
    return sorted(p for p in services.rglob("*.py")
                  if p.relative_to(services).parts[0] not in PROTOCOL_PACKAGES
                  and str(p.relative_to(services)) not in PROTOCOL_FILES)


def hits(text: str) -> Counter[str]:
    return Counter(m.group(1) for m in _PATTERN.finditer(text))


def test_the_scan_finds_what_it_must() -> None:
    assert hits('send("StatusNotification", status="SuspendedEVSE") # id_tag') == Counter(
        {"StatusNotification": 1, "SuspendedEVSE": 1, "id_tag": 1})
    assert hits("Energy.Active.Import.Register and MeterValueSampleInterval") == Counter(
        {"Energy.Active.Import.Register": 1, "MeterValueSampleInterval": 1})
    # plain words, and names that only contain a word of the vocabulary, are not hits
    assert not hits("Available Charging Voltage id_token group_id_tagged my_id_tag_x")
    assert "services/power/service.py" in {str(p.relative_to(ROOT)) for p in scanned()}
    assert not any("ocpp_gateway" in p.parts for p in scanned())


def test_no_service_but_the_gateway_speaks_ocpp_16() -> None:
    found = {str(p.relative_to(ROOT)): dict(words) for p in scanned() if (words := hits(p.read_text()))}
    assert not found, "\n".join(f"{path}: {words}" for path, words in sorted(found.items()))
