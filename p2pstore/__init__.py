"""p2pstore: peer-to-peer energy sharing scenarios, settled exactly and kept in a database."""

__version__ = "0.1.0"

__all__ = ["Store", "Scenario", "__version__"]


def __getattr__(name):  # lazy: `import p2pstore` must stay cheap for the CLI
    if name == "Store":
        from p2pstore.store import Store

        return Store
    if name == "Scenario":
        from p2pstore.scenario import Scenario

        return Scenario
    raise AttributeError(name)
