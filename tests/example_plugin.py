"""The example mechanism plugin (examples/mechanism-plugin, mechanism ``flat_p2p``): tests that
settle it skip, with the reason, where it is not installed (the README's test command installs it)."""

import pytest

from p2pstore import registry

#: The mechanism the example plugin registers.
EXAMPLE_MECHANISM = "flat_p2p"

needs_example_plugin = pytest.mark.skipif(
    EXAMPLE_MECHANISM not in registry.names(),
    reason="the example plugin is not installed: pip install -e examples/mechanism-plugin "
           "(the README's test command does)")
