"""The mechanism registry: built-ins, entry-point plugins, in-process registration, and the rule
that listing and validating names imports neither numpy nor any plugin module."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from broken_plugin import DIST, make_broken_plugin
from p2pstore import registry
from p2pstore.errors import MechanismError, ScenarioError, UnknownMechanismError
from p2pstore.scenario import Scenario

BUILTIN_ORDER = ("conventional", "mmr", "bill_sharing", "sdr", "mmr_lit", "bs_lit", "bs_lit_slot")


@pytest.fixture
def broken_plugins(tmp_path, monkeypatch):
    """The test-only broken distribution on sys.path, read fresh by the registry."""
    monkeypatch.syspath_prepend(str(make_broken_plugin(tmp_path / "site")))
    # another test may have settled with the plugin in this process: start from it not imported
    monkeypatch.delitem(sys.modules, "broken_mechanisms", raising=False)
    registry.refresh()
    with warnings.catch_warnings():  # the deliberately bad names warn once, when first read
        warnings.simplefilter("ignore", registry.PluginWarning)
        registry.names()
    yield
    monkeypatch.undo()
    registry.refresh()


def test_builtins_first_in_report_order_and_default():
    names = registry.names()
    assert names[:len(BUILTIN_ORDER)] == BUILTIN_ORDER
    assert registry.DEFAULT == ("conventional", "mmr", "bill_sharing")
    assert Scenario().mechanisms == registry.DEFAULT
    for name in BUILTIN_ORDER:
        m = registry.get(name)
        assert m.builtin and m.label and m.summary
        assert callable(registry.load(m))


def test_unknown_name_lists_every_known_mechanism():
    with pytest.raises(UnknownMechanismError) as err:
        registry.get("auction")
    message = str(err.value)
    assert message == f"unknown mechanism 'auction' (known: {', '.join(registry.names())})"
    assert "\n" not in message
    with pytest.raises(ScenarioError, match="scenario field 'mechanisms': unknown mechanism 'auction' "
                                            r"\(known: conventional, mmr, bill_sharing, sdr"):
        Scenario(mechanisms=("sdr", "auction"))


def test_entry_points_are_found_without_importing_them(broken_plugins):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.refresh()
        names = registry.names()
    for name in ("broken_missing", "broken_nan", "broken_raises", "broken_shape", "import_only"):
        assert name in names
        assert not registry.get(name).builtin and registry.get(name).origin == DIST
    # plugins come after the built-ins, sorted by name
    assert names[len(BUILTIN_ORDER):] == tuple(sorted(names[len(BUILTIN_ORDER):]))
    assert "broken_mechanisms" not in sys.modules  # listing imported nothing
    # an invalid name and a built-in's name are refused with a warning, the built-in kept
    problems = [str(w.message) for w in caught if issubclass(w.category, registry.PluginWarning)]
    assert any("'Bad-Name'" in p for p in problems) and any("'conventional' is a built-in" in p for p in problems)
    assert "Bad-Name" not in names and registry.get("conventional").builtin
    # the one-line error for an unknown name lists the installed plugins too
    with pytest.raises(UnknownMechanismError) as err:
        registry.get("auction")
    assert str(err.value).endswith(f"(known: {', '.join(names)})")
    assert "broken_raises" in str(err.value) and "import_only" in str(err.value)
    assert Scenario(mechanisms=("import_only",)).mechanisms == ("import_only",)


def test_a_plugin_that_cannot_be_imported_is_named(broken_plugins):
    with pytest.raises(MechanismError, match=r"^mechanism plugin 'broken_missing' \(broken-mechanisms 0.1, "
                                             r"no_such_module_anywhere:settle\) could not be loaded: "
                                             r"ModuleNotFoundError"):
        registry.load(registry.get("broken_missing"))


def test_register_in_process():
    def mine(community):
        return community.import_kw * 0.0

    try:
        m = registry.register("mine", mine, label="Mine")
        assert registry.get("mine") is m and registry.load(m) is mine and m.label == "Mine"
        assert registry.names()[-1] == "mine" or "mine" in registry.names()
        with pytest.raises(MechanismError, match="built-in"):
            registry.register("sdr", mine)
        with pytest.raises(MechanismError, match="1-32 characters"):
            registry.register("no spaces", mine)
    finally:
        registry.unregister("mine")
    assert "mine" not in registry.names()


def test_ordered_puts_unknown_names_last():
    assert registry.ordered(["zeta_gone", "sdr", "conventional", "alpha_gone", "sdr"]) == \
        ["conventional", "sdr", "alpha_gone", "zeta_gone"]


def test_listing_and_validation_import_no_numpy(tmp_path):
    site = make_broken_plugin(tmp_path / "site")
    code = ("import sys\n"
            "from p2pstore import registry\n"
            "from p2pstore.scenario import Scenario\n"
            "Scenario(mechanisms=('conventional', 'sdr', 'broken_raises'))\n"
            "print(','.join(registry.names()))\n"
            "print('HEAVY=' + ','.join(m for m in ('numpy', 'pandas', 'sqlalchemy', 'broken_mechanisms')"
            " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**_env(), "PYTHONPATH": str(site)})
    assert "broken_raises" in out.stdout
    assert "HEAVY=\n" in out.stdout, out.stdout


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_a_run_lists_at_most_200_characters_of_mechanisms():
    names = [f"plugin_{k:02d}_" + "x" * 20 for k in range(8)]  # 8 names of 30 characters
    try:
        for name in names:
            registry.register(name, lambda c: c.import_kw * 0.0)
        assert Scenario(mechanisms=tuple(names[:6])).mechanisms == tuple(names[:6])  # 185 characters
        with pytest.raises(ScenarioError, match="too many: their names joined with ',' exceed 200 characters"):
            Scenario(mechanisms=tuple(names[:7]))
    finally:
        for name in names:
            registry.unregister(name)


def test_a_builtin_is_found_without_reading_entry_points():
    registry.refresh()
    try:
        assert registry.get("mmr").builtin and registry.find("conventional").builtin
        Scenario(mechanisms=("conventional", "bill_sharing"))
        assert registry._entry_point_plugins.cache_info().currsize == 0
        assert registry.find("no_such_mechanism") is None  # an unknown name reads them
        assert registry._entry_point_plugins.cache_info().currsize == 1
    finally:
        registry.refresh()
