"""The run queue: runs, their leases and schedules; every statement over ``runs`` and
``schedules`` lives here (the worker in :mod:`p2pstore.jobs` calls these)."""
