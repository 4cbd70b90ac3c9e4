"""Stored profile sets and tariff files: writing, reading and pinning scenarios to them.
Generating or importing the data is the profiles layer's job (:mod:`p2pstore.profiles`)."""
