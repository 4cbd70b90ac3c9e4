"""Plugin mechanisms in the settlement core: what a plugin sees (Community), how its output is
checked, and the one-line errors naming it."""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pytest

from handmade import make_profiles, two_house_community
from p2pstore import registry
from p2pstore.errors import MechanismError
from p2pstore.settlement import settle


@contextlib.contextmanager
def registered(function, name="test_plugin"):
    registry.register(name, function)
    try:
        yield name
    finally:
        registry.unregister(name)


def tou_community():
    return make_profiles(load=[[2, 1], [1, 0]], pv=[[0, 0], [3, 2]], buy=[[8, 4], [6, 2]], sell=[[0, 0], [4, -1]],
                         allowed=[True, False], kinds=["consumer", "prosumer"])


def test_community_view_is_read_only_and_broadcastable():
    seen = {}

    def look(c):
        seen.update(n=c.n_households, h=c.n_slots, dt=c.slot_hours, buy=c.buy.copy(), sell=c.sell.copy(),
                    buy_ref=c.buy_ref.copy(), sell_ref=c.sell_ref.copy(), allowed=c.p2p_allowed.copy(),
                    labels=list(c.labels), fractions=[a.copy() for a in c.p2p_fractions()],
                    grid=[a.copy() for a in c.grid_shares()], I=c.import_total_kw.copy(), E=c.export_total_kw.copy())
        for name in ("load_kw", "pv_kw", "import_kw", "export_kw", "buy", "buy_ref", "import_total_kw"):
            with pytest.raises(ValueError, match="read-only"):
                getattr(c, name)[...] = 0
        return c.import_kw * c.slot_hours * c.buy - c.export_kw * c.slot_hours * c.sell

    with registered(look) as name:
        flat = settle(two_house_community(), (name, "conventional"))
    assert seen["buy"].shape == (2, 1) and seen["buy_ref"].shape == (2,)
    np.testing.assert_allclose(flat.results[name].cost, flat.results["conventional"].cost, rtol=1e-15)
    with registered(look) as name:
        tou = settle(tou_community(), (name, "conventional"))
    assert seen["buy"].shape == (2, 2) and seen["labels"] == ["C1", "P2"]
    np.testing.assert_array_equal(seen["buy_ref"], [7.0, 3.0])
    np.testing.assert_array_equal(seen["sell_ref"], [4.0, 0.0])
    np.testing.assert_array_equal(seen["allowed"], [True, False])
    np.testing.assert_array_equal(seen["fractions"][0], [1.0, 0.0])  # balanced slot 0; slot 1 off
    np.testing.assert_array_equal(seen["grid"][1], [0.0, 1.0])
    np.testing.assert_allclose(tou.results[name].cost, tou.results["conventional"].cost, rtol=1e-15)


def test_optional_outputs_become_the_result():
    def with_prices(c):
        f_im, f_ex = c.p2p_fractions()
        return {"cost": np.zeros((c.n_households, c.n_slots)), "import_price": np.array([1.0, np.nan]),
                "export_price": c.sell_ref.copy(), "p2p_price": None, "p2p_import_share": f_im,
                "p2p_export_share": f_ex}

    with registered(with_prices) as name:
        r = settle(two_house_community(), (name,)).results[name]
    assert r.mechanism == name and r.p2p_price is None
    np.testing.assert_array_equal(r.import_price, [1.0, np.nan])
    np.testing.assert_array_equal(r.p2p_import_share, [1.0, 0.0])
    # volumes follow the shares: slot 0 is balanced, so C1's 2 kWh come from P1
    np.testing.assert_allclose(r.p2p_import_kwh()[:, 0], [2.0, 0.0])


BROKEN = {
    "raises": (lambda c: 1 / 0, r"raised ZeroDivisionError: division by zero"),
    "wrong shape": (lambda c: np.zeros(c.n_households), r"returned costs of shape \(2,\), expected \[N, H\] = \(2, 2\)"),
    "transposed": (lambda c: np.zeros((c.n_slots + 1, c.n_households)), r"shape \(3, 2\)"),
    "NaN": (lambda c: np.where(c.import_kw > 1, np.nan, 0.0), r"non-finite cost \(nan\) for household 'C1' in slot 0"),
    "a list": (lambda c: [[0, 0], [0, 0]], r"returned costs as list, expected a numpy array"),
    "strings": (lambda c: np.full((2, 2), "x"), r"costs of dtype <U1"),
    "no cost": (lambda c: {"import_price": np.zeros(2)}, r"a mapping without 'cost'"),
    "unknown key": (lambda c: {"cost": np.zeros((2, 2)), "bills": 1}, r"unknown key 'bills'"),
    "share out of range": (lambda c: {"cost": np.zeros((2, 2)), "p2p_import_share": np.full(2, 2.0)},
                           r"p2p_import_share outside \[0, 1\]"),
    "infinite price": (lambda c: {"cost": np.zeros((2, 2)), "import_price": np.full(2, np.inf)},
                       r"infinite import_price"),
    "price shape": (lambda c: {"cost": np.zeros((2, 2)), "export_price": np.zeros(3)},
                    r"export_price of shape \(3,\), expected \[H\] = \(2,\)"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_plugins_fail_with_one_line_naming_them(case):
    function, problem = BROKEN[case]
    with registered(function, "shaky") as name, pytest.raises(MechanismError) as err:
        settle(two_house_community(), ("conventional", name))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("mechanism plugin 'shaky' (registered in this process, ")
    assert re.search(problem, message), message
    assert message.endswith("the run's results are not stored")


def test_plugin_exception_keeps_only_its_first_line():
    def raises(c):
        raise RuntimeError("first line\nsecond line")

    with registered(raises) as name, pytest.raises(MechanismError, match="raised RuntimeError: first line;"):
        settle(two_house_community(), (name,))


def test_plugin_result_never_aliases_the_community():
    with registered(lambda c: c.import_kw) as name:
        s = settle(two_house_community(), (name,))
    r = s.results[name]
    assert r.cost.flags.writeable and not np.shares_memory(r.cost, s.flows.import_export_kw)
