"""The sandbox vendor server: a vendor dataset served through the four vendor APIs."""

from pipelines.sandbox.faults import Fault
from pipelines.sandbox.server import SandboxServer

__all__ = ["Fault", "SandboxServer"]
