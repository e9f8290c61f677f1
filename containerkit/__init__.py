"""containerkit: from a source repository to a running container, through a graph of agents."""

from containerkit.errors import ContainerKitError

__all__ = ["ContainerKitError", "__version__"]

__version__ = "0.1.0"
