"""What the gateway tells the CSMS about where and who it is: the URL, the serial number, the server keys."""

from __future__ import annotations

import pytest

from services.common.settings import Settings
from services.ocpp_gateway.link import serial_number, server_keys

LONG_ID = "CB-" + "0123456789" * 4 + "ABCDE"  # 48 characters, the longest id allowed


@pytest.mark.parametrize(("csms_url", "ocpp_url"), [
    ("ws://csms.example:9000/ocpp", "ws://csms.example:9000/ocpp/CB7"),
    ("ws://csms.example:9000/ocpp/", "ws://csms.example:9000/ocpp/CB7"),  # without a template: one slash
    ("ws://csms.example/ocpp/{id}/", "ws://csms.example/ocpp/CB7/"),  # the CSMS's form, trailing slash kept
    ("wss://csms.example/cs/{id}/ocpp16", "wss://csms.example/cs/CB7/ocpp16"),
])
def test_the_url_is_the_template_or_the_id_appended(csms_url: str, ocpp_url: str) -> None:
    assert Settings(csms_url=csms_url, charge_point_id="CB7").ocpp_url == ocpp_url


@pytest.mark.parametrize(("cp_id", "setting", "sent"), [
    ("CB7", None, "CB7"),  # the id when it fits CiString25
    ("A" * 25, None, "A" * 25),
    (LONG_ID, None, None),  # too long: no serial number rather than a BootNotification the schema refuses
    (LONG_ID, "SN-0042", "SN-0042"),  # the setting wins
])
def test_the_serial_number_fits_its_cistring25(cp_id: str, setting: str | None, sent: str | None) -> None:
    assert serial_number(Settings(charge_point_id=cp_id, charge_point_serial_number=setting)) == sent


def test_a_serial_number_setting_longer_than_25_is_refused() -> None:
    with pytest.raises(ValueError):
        Settings(charge_point_serial_number="S" * 26)


def test_the_server_keys_answer_the_address_in_force() -> None:
    keys = server_keys(Settings(csms_url="wss://user:secret@csms.example/ocpp/{id}/", charge_point_id="CB7"))
    assert keys == {"ServerURL": "wss://user:***@csms.example/ocpp/{id}/", "SERVER_ADDRESS": "csms.example",
                    "SERVER_PORT": "443", "SERVER_PATH": "/ocpp/{id}/", "SERVER_CPID": "CB7"}
