"""Profile generators and importers: a scenario or files in, :class:`Profiles` (numpy arrays) out.

- :func:`generate`: the generated community of a scenario (the notebook's generator);
- :func:`read_profile_set` / :func:`read_tariffs` (:mod:`p2pstore.profiles.importer`, pandas):
  measured households and tariffs from CSV/Parquet files or DataFrames, validated;
- :class:`ProfileSet` / :class:`TariffTable` (:mod:`p2pstore.profiles.sets`): imported data and
  the communities drawn from them.
"""

from p2pstore.profiles.base import Profiles

__all__ = ["Profiles", "ProfileSet", "TariffTable", "generate", "read_profile_set", "read_tariffs"]

_LAZY = {
    "ProfileSet": "p2pstore.profiles.sets",
    "TariffTable": "p2pstore.profiles.sets",
    "read_profile_set": "p2pstore.profiles.importer",
    "read_tariffs": "p2pstore.profiles.importer",
}


def generate(scenario) -> Profiles:
    """Generate the profiles of ``scenario`` with the generator it names."""
    if scenario.generator == "notebook":
        from p2pstore.profiles.notebook import generate_notebook

        return generate_notebook(scenario)
    if scenario.generator == "standard":
        from p2pstore.profiles.standard import generate_standard

        return generate_standard(scenario)
    raise ValueError(f"unknown generator {scenario.generator!r}")


def __getattr__(name):  # the importer needs pandas: load it only when asked for
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
