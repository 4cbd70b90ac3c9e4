"""Profile generators and importers: a scenario or files in, :class:`Profiles` (numpy arrays) out.

- :func:`generate`: the generated community of a scenario (the notebook's or the standard
  generator); :func:`generated_community` adds the scenario's tariff file;
- :func:`read_profile_set` / :func:`read_tariffs` (:mod:`p2pstore.profiles.importer`, pandas):
  measured households and tariffs from CSV/Parquet files or DataFrames, validated;
- :class:`ProfileSet` / :class:`TariffTable` (:mod:`p2pstore.profiles.sets`): imported data and
  the communities drawn from them.
"""

from p2pstore.profiles.base import Profiles

__all__ = ["Profiles", "ProfileSet", "TariffTable", "generate", "generated_chunks", "generated_community",
           "read_profile_set",
           "read_tariffs"]

_LAZY = {
    "ProfileSet": "p2pstore.profiles.sets",
    "TariffTable": "p2pstore.profiles.sets",
    "read_profile_set": "p2pstore.profiles.importer",
    "read_tariffs": "p2pstore.profiles.importer",
}


def generate(scenario) -> Profiles:
    """Generate the profiles of ``scenario`` with the generator it names."""
    if scenario.generator == "notebook":
        from p2pstore.profiles.notebook import generate_notebook  # each generator loads only its own libraries

        return generate_notebook(scenario)
    if scenario.generator == "standard":
        from p2pstore.profiles.standard import generate_standard  # pvlib and demandlib: only when used

        return generate_standard(scenario)
    raise ValueError(f"unknown generator {scenario.generator!r}")


def generated_chunks(scenario, tariffs=None):
    """A :class:`~p2pstore.profiles.chunks.ChunkSource` of ``scenario``'s generated community
    (the same households as :func:`generated_community`), with the tariffs of ``tariffs`` (a
    :class:`~p2pstore.profiles.sets.TariffTable`), else of the scenario's tariff file if it names one."""
    if scenario.generator == "notebook":
        from p2pstore.profiles.notebook_chunks import NotebookChunks  # lazy: keeps start-up light

        source = NotebookChunks(scenario)
    elif scenario.generator == "standard":
        from p2pstore.profiles.standard_chunks import StandardChunks  # lazy: keeps start-up light

        source = StandardChunks(scenario)
    else:
        raise ValueError(f"unknown generator {scenario.generator!r}")
    if tariffs is None and scenario.tariffs is not None:
        from p2pstore.profiles.importer import read_tariffs  # lazy: keeps start-up light

        tariffs = read_tariffs(scenario.tariffs)
    if tariffs is not None:
        from p2pstore.profiles.chunks import TariffFileChunks  # lazy: keeps start-up light
        from p2pstore.profiles.sets import with_tariffs  # lazy: keeps start-up light

        source = TariffFileChunks(source, tariffs, with_tariffs)
    return source


def generated_community(scenario) -> Profiles:
    """The generated community a run of ``scenario`` settles: :func:`generate`, with the tariffs
    of the scenario's tariff file (``scenario.tariffs``, read and validated) when it names one.

    Raises :class:`~p2pstore.errors.InputError` for a scenario on a stored profile set (it has
    no generated community) or a tariff file that does not fit the community.
    """
    from p2pstore.errors import InputError  # kept out of `import p2pstore.profiles` (start-up of `run`)

    if scenario.imported:
        raise InputError(f"the scenario settles profile set {scenario.profiles!r}: only a generated "
                         "community (generator notebook or standard) can be generated")
    if scenario.tariffs_hash is not None:
        raise InputError("the scenario's tariffs are a stored tariff file: give the file itself (--tariffs FILE)")
    profiles = generate(scenario)
    if scenario.tariffs is not None:
        # the importer needs pandas: only for a scenario with a tariff file
        from p2pstore.profiles.importer import read_tariffs
        from p2pstore.profiles.sets import with_tariffs  # (same reason)

        profiles = with_tariffs(profiles, read_tariffs(scenario.tariffs))
    return profiles


def __getattr__(name):  # the importer needs pandas: load it only when asked for
    if name in _LAZY:
        import importlib  # only for a lazy attribute

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
