"""``python -m p2pstore`` is the ``p2pstore`` command."""

from p2pstore.cli import main

main()
