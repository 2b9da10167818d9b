"""A local Salesforce org emulator: its own process, its own SQLite storage, reached over HTTP(S).

Run it with ``python -m salesforce_emulator serve``; see ``docs/salesforce-emulator.md``.
Nothing in the Cothon app imports this package, and this package imports nothing of Cothon.
"""

__all__ = ["__version__"]
__version__ = "1.0.0"
