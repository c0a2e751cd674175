"""An HTTP emulator of the GitHub REST API, webhooks included, for tests and local runs."""

from .server import GitHubEmulator
from .webhooks import Delivery

__all__ = ["Delivery", "GitHubEmulator"]
