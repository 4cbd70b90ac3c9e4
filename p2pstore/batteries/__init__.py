"""Batteries: home batteries and a shared community battery, dispatched slot by slot.

A stage between ``profiles`` and ``settlement`` (docs/batteries.md): a dispatch rule turns each
household's ``(L, PV)`` into ``(L + charge, PV + discharge)``, the shared battery becomes the
member ``community_battery``, and every mechanism settles the post-battery community unchanged.

* :mod:`~p2pstore.batteries.params`: battery parameters, their checks and the battery file;
* :mod:`~p2pstore.batteries.keys`: the scenario keys (sizing defaults, the shared battery);
* :mod:`~p2pstore.batteries.rules`: the dispatch rules by name (built-ins and plugins of the
  entry-point group ``p2pstore.battery_dispatch``);
* :mod:`~p2pstore.batteries.dispatch`: the slot-by-slot dispatch, numpy over batteries;
* :mod:`~p2pstore.batteries.stage`: the stage applied to a community, and its result.

This package imports nothing at import time.
"""
