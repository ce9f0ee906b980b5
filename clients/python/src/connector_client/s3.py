"""S3 for one user, in the manner of a universal S3 client:
`client.s3("alice").read_json("bucket", "config.json")`. On an AsyncConnectorClient every
method is awaited and `list_objects` is an async iterator."""

from __future__ import annotations

from connector_client import _s3_calls as calls
from connector_client._operation import ForUser, RunnerT_co, UserListing, UserOperation


class UserS3(ForUser[RunnerT_co]):
    """The user's objects; every call is made as the user, through the connector."""

    read_bytes = UserOperation(calls.get_object)
    read_text = UserOperation(calls.read_text)
    read_json = UserOperation(calls.read_json)
    write_bytes = UserOperation(calls.put_object)
    write_text = UserOperation(calls.write_text)
    write_json = UserOperation(calls.write_json)
    upload_file = UserOperation(calls.upload_file)
    download_file = UserOperation(calls.download_file)
    file_exists = UserOperation(calls.file_exists)
    delete_object = UserOperation(calls.delete_object)
    presign = UserOperation(calls.presign)
    list_buckets = UserOperation(calls.list_buckets)
    list_objects = UserListing(calls.iter_objects)
