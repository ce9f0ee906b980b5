"""The S3 adapter (`s3://bucket/prefix/`): ConnectionStore and ApiKeyStore as JSON objects."""

from connector.adapters.s3_store.api_key_store import S3ApiKeyStore
from connector.adapters.s3_store.connection_store import S3ConnectionStore
from connector.adapters.s3_store.database import S3Database

__all__ = ["S3ApiKeyStore", "S3ConnectionStore", "S3Database"]
