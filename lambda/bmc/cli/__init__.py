"""The ``bmc`` command line: one module per command (``validate``, ``models``).

The entry point is ``bmc.cli.main:main``."""
