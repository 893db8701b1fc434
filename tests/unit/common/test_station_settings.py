"""A station setting on the bus has the type of its default, and names only what the station knows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.contract.station_settings import Setting, SettingValue


@pytest.mark.parametrize(("name", "value"), [
    (Setting.LOCAL_FIRST, 1),  # a number where a flag is declared
    (Setting.SAMPLE_INTERVAL_S, True),  # a flag where a number is declared
    (Setting.SAMPLE_INTERVAL_S, -5),
    (Setting.SAMPLE_INTERVAL_S, ["energy_imported_wh"]),
    (Setting.SAMPLED_MEASURANDS, ["Energy.Active.Import.Register"]),  # a protocol's name, not the station's
    (Setting.SCHEDULE_UNITS, []),
    (Setting.SCHEDULE_UNITS, ["kW"]),
])
def test_a_value_of_another_type_or_an_unknown_name_is_refused(name: Setting, value: object) -> None:
    with pytest.raises(ValidationError):
        SettingValue.model_validate({"name": name.value, "value": value})


def test_a_value_read_from_json_keeps_its_type() -> None:
    assert SettingValue.model_validate_json('{"name": "local_first", "value": false}').value is False
    assert SettingValue.model_validate_json('{"name": "sample_interval_s", "value": 0}').value == 0
    assert SettingValue.model_validate_json('{"name": "aligned_measurands", "value": []}').value == []
