"""The read-only query gate (``p2pstore query``): one statement, read-only, bounded."""
