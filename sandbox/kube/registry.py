"""Every emulator created in this process, announced to listeners (e.g. a request audit across a test run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .emulator import KubeEmulator

Listener = Callable[["KubeEmulator"], None]

_lock = threading.Lock()
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call ``listener`` with each emulator created from now on (before it serves anything)."""
    with _lock:
        _listeners.append(listener)


def unlisten(listener: Listener) -> None:
    """Stop calling ``listener``."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def announce(emulator: KubeEmulator) -> None:
    """Tell every listener about a new emulator."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(emulator)
