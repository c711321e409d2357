"""Fault injection for the atomicity and kill tests.

``COMMISSIONING_FAILPOINT=name`` makes :func:`failpoint` raise at the point called
``name``; ``name@seconds`` makes it print ``failpoint <name>: pausing`` and sleep there, so
a test can kill the process at that point. Unset in normal use: then it does nothing.
"""

from __future__ import annotations

import os
import time


def failpoint(name: str) -> None:
    """Raise or pause here if the environment names this point."""
    setting = os.environ.get("COMMISSIONING_FAILPOINT")
    if not setting:
        return
    point, _, pause = setting.partition("@")
    if point != name:
        return
    if pause:
        print(f"failpoint {name}: pausing", flush=True)
        time.sleep(float(pause))
        return
    raise RuntimeError(f"failpoint {name}")
