"""Profile generators and importers: a scenario in, :class:`Profiles` (numpy arrays) out."""

from p2pstore.profiles.base import Profiles

__all__ = ["Profiles", "generate"]


def generate(scenario) -> Profiles:
    """Generate the profiles of ``scenario`` with the generator it names."""
    if scenario.generator == "notebook":
        from p2pstore.profiles.notebook import generate_notebook

        return generate_notebook(scenario)
    if scenario.generator == "standard":
        from p2pstore.profiles.standard import generate_standard

        return generate_standard(scenario)
    raise ValueError(f"unknown generator {scenario.generator!r}")
