"""An HTTP emulator of the Kubernetes API server with simulated controllers and kubelet.

See :mod:`sandbox.kube.kubelet` for the image-tag conventions that simulate failures.
"""

from .emulator import KubeEmulator
from .faults import RecordedRequest

__all__ = ["KubeEmulator", "RecordedRequest"]
