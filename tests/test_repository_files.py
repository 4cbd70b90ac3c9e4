"""The repository says how to use and cite it: a LICENSE matching pyproject's licence and a
CITATION.cff whose version is the package's."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

import p2pstore

ROOT = Path(__file__).resolve().parents[1]


def test_license_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"]["text"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_citation_cff_names_this_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert str(cff["version"]) == project["version"] == p2pstore.__version__
    assert cff["title"].startswith("p2pstore") and cff["authors"]
    assert all(ref.get("doi") for ref in cff["references"])
