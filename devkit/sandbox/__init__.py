"""The sandbox vendor server: a vendor dataset served through the four vendor APIs."""

from devkit.sandbox.faults import Fault
from devkit.sandbox.server import SandboxServer

__all__ = ["Fault", "SandboxServer"]
