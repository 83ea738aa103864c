"""Readable units in torchinfo's summary table on Python 3.11+.

torchinfo 1.8 declares its units as `class Units(str, Enum)` and writes them with an f-string.
Python 3.11 changed `format()` of such mixed-in enums to use `Enum.__str__`, so the table says
"Total mult-adds (Units.GIGABYTES)" instead of "(G)". Making the enum format as its value, as
`enum.StrEnum` does, restores the intended text. Nothing changes where torchinfo already prints it right.
"""
from __future__ import annotations


def fix_torchinfo_units() -> bool:
    """Make torchinfo print "(G)" rather than "(Units.GIGABYTES)". Returns whether a fix was needed."""
    try:
        from torchinfo.enums import Units
    except ImportError:  # torchinfo absent or reorganized: nothing to fix
        return False
    if f"{Units.GIGABYTES}" == Units.GIGABYTES.value:
        return False
    Units.__str__ = lambda self: self.value
    Units.__format__ = lambda self, spec: format(self.value, spec)
    return True
