"""One table of display names: every scenario field and every registered mechanism has a
readable name, used by figures, LaTeX tables and reports alike."""

from __future__ import annotations

from p2pstore import display, registry
from p2pstore.scenario import FIELDS


def test_every_scenario_field_has_a_display_name():
    assert [f for f in FIELDS if f not in display.PARAMETERS] == []
    assert display.parameter("prosumer_share") == "Prosumer share"
    assert display.parameter("pv_kwp") == "PV size (kWp)"
    assert display.parameter("consumer_buy_tariff", "EUR") == "Consumer buy tariff (EUR/kWh)"
    assert display.parameter("pv_kwp_low") == "PV size (low) (kWp)"


def test_mechanisms_are_named_by_the_registry_and_values_read_well():
    assert [display.mechanism(m.name) for m in registry.BUILTINS] == [m.label for m in registry.BUILTINS]
    assert display.mechanism("uninstalled_plugin") == "uninstalled_plugin"
    assert display.parameter_value("tariffs_hash", "ab" * 32) == "ab" * 6
    assert display.parameter_value("tariffs", "/data/tou/winter.csv") == "winter.csv"
    assert display.parameter_value("tariffs", None) == display.UNSET == "(none)"
    assert display.parameter_value("prosumer_share", 0.3) == 0.3
