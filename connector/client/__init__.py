"""Compatibility: the client is its own distribution, `connector-client`, imported as
`connector_client` (clients/python). `import connector.client` gives the same objects."""

from connector_client import *  # noqa: F403
from connector_client import __all__ as __all__
