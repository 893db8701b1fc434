"""GetConfiguration and ChangeConfiguration as a Central System sees them: the keys, their checks, their case."""

from __future__ import annotations

from ocpp.v16 import call

from services.common.contract.common import ConfigValue
from tests.gateway_rig import GatewayRig


async def test_get_and_change_configuration(gateway: GatewayRig) -> None:
    everything = await gateway.csms.call(call.GetConfiguration())
    keys = {k["key"]: k for k in everything.configuration_key}
    assert keys["GetConfigurationMaxKeys"] == {"key": "GetConfigurationMaxKeys", "readonly": True, "value": "6"}
    assert "CP_MODEL" in keys and "MemberPrice" in keys and not everything.unknown_key
    named = await gateway.csms.call(call.GetConfiguration(key=["HeartbeatInterval", "Unknown1"]))
    assert [k["key"] for k in named.configuration_key] == ["HeartbeatInterval"] and named.unknown_key == ["Unknown1"]
    beyond = await gateway.csms.call(call.GetConfiguration(key=[f"K{i}" for i in range(7)]))  # all answered
    assert beyond.unknown_key == [f"K{i}" for i in range(7)]

    answers = [
        (await gateway.csms.call(call.ChangeConfiguration(key=k, value=v))).status
        for k, v in [("MeterValueSampleInterval", "5"), ("MeterValueSampleInterval", "-1"),
                     ("NumberOfConnectors", "2"), ("NoSuchKey", "1"), ("ServerURL", "ws://x/ocpp")]]
    assert answers == ["Accepted", "Rejected", "Rejected", "NotSupported", "Rejected"]  # ServerURL is read-only
    published = await gateway.observer.wait(
        lambda: (v := gateway.observer.get("chargebus/config/MeterValueSampleInterval")) and v.value == "5" and v,
        what="the changed key on the bus")
    assert isinstance(published, ConfigValue) and not published.readonly
    setting = await gateway.observer.wait(
        lambda: (v := gateway.observer.get("chargebus/settings/sample_interval_s")) and v.value == 5 and v,
        what="the station setting it maps to")
    assert setting.name == "sample_interval_s"


async def test_item_4_allow_offline_tx_for_unknown_id_is_read_only_false(gateway: GatewayRig) -> None:
    keys = await gateway.csms.call(call.GetConfiguration(key=["AllowOfflineTxForUnknownId"]))
    assert keys.configuration_key == [{"key": "AllowOfflineTxForUnknownId", "readonly": True, "value": "false"}]
    answer = await gateway.csms.call(call.ChangeConfiguration(key="AllowOfflineTxForUnknownId", value="true"))
    assert answer.status == "Rejected"


async def test_item_4_stop_transaction_on_ev_side_disconnect_false_is_rejected(gateway: GatewayRig) -> None:
    answer = await gateway.csms.call(call.ChangeConfiguration(key="StopTransactionOnEVSideDisconnect", value="false"))
    assert answer.status == "Rejected"
    keys = await gateway.csms.call(call.GetConfiguration(key=["StopTransactionOnEVSideDisconnect"]))
    assert keys.configuration_key[0]["value"] == "true"


async def test_item_5_an_interval_of_0_means_no_sampled_or_aligned_data(gateway: GatewayRig) -> None:
    await gateway.configure(MeterValueSampleInterval="0", ClockAlignedDataInterval="0")
    keys = await gateway.csms.call(call.GetConfiguration(key=["MeterValueSampleInterval", "ClockAlignedDataInterval"]))
    assert {k["key"]: k["value"] for k in keys.configuration_key} == {
        "MeterValueSampleInterval": "0", "ClockAlignedDataInterval": "0"}


async def test_item_10_keys_and_vendor_id_compare_case_insensitively(gateway: GatewayRig) -> None:
    keys = await gateway.csms.call(call.GetConfiguration(key=["heartbeatinterval"]))
    assert [k["key"] for k in keys.configuration_key] == ["HeartbeatInterval"] and not keys.unknown_key
    changed = await gateway.csms.call(call.ChangeConfiguration(key="HEARTBEATINTERVAL", value="120"))
    assert changed.status == "Accepted"
    keys = await gateway.csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert keys.configuration_key[0]["value"] == "120"
    transfer = await gateway.csms.call(call.DataTransfer(vendor_id="ChargeBus", message_id="nothing"))
    assert transfer.status == "UnknownMessageId"  # our vendor id, a message we do not know


async def test_item_10_measurands_outside_the_pics_are_refused(gateway: GatewayRig) -> None:
    for key in ("MeterValuesSampledData", "MeterValuesAlignedData"):
        for measurand in ("Current.Import", "Current.Offered", "Temperature"):
            answer = await gateway.csms.call(call.ChangeConfiguration(key=key, value=measurand))
            assert answer.status == "Rejected", (key, measurand)
    await gateway.configure(MeterValuesSampledData="Power.Active.Import,Voltage,SoC,Energy.Active.Import.Register,"
                                                   "Current.Export,Power.Offered")


async def test_item_13_more_keys_than_get_configuration_max_keys_are_all_answered(gateway: GatewayRig) -> None:
    wanted = ["HeartbeatInterval", "MeterValueSampleInterval", "NumberOfConnectors", "ResetRetries",
              "LocalPreAuthorize", "ConnectionTimeOut", "NoSuchKey1"]
    answer = await gateway.csms.call(call.GetConfiguration(key=wanted))
    assert [k["key"] for k in answer.configuration_key] == wanted[:-1] and answer.unknown_key == ["NoSuchKey1"]
    await gateway.logged("more than GetConfigurationMaxKeys")  # said once, as the CSMS's doing
    assert "Traceback" not in gateway.log_text() and "ERROR" not in gateway.log_text()


async def test_link_item_11_server_address_keys_are_read_only(gateway: GatewayRig) -> None:
    for key, value in (("ServerURL", "ws://elsewhere:9000/ocpp"), ("SERVER_ADDRESS", "elsewhere"),
                       ("SERVER_PORT", "9000"), ("SERVER_PATH", "/ocpp16"), ("SERVER_CPID", "CB2")):
        assert (await gateway.csms.call(call.ChangeConfiguration(key=key, value=value))).status == "Rejected", key
    keys = await gateway.csms.call(call.GetConfiguration(key=["ServerURL", "SERVER_ADDRESS", "SERVER_PORT",
                                                              "SERVER_PATH", "SERVER_CPID"]))
    assert all(k["readonly"] for k in keys.configuration_key)
    url = next(k["value"] for k in keys.configuration_key if k["key"] == "ServerURL")
    assert url == gateway.settings.csms_url  # the URL in force, read from the station's settings
