"""The connector's operations as methods, shared by ConnectorClient and AsyncConnectorClient."""

from __future__ import annotations

from connector_client import _connection_calls as connection
from connector_client import _lambda_calls as lambda_
from connector_client import _s3_calls as s3
from connector_client._operation import Listing, Operation


class ConnectorApi:
    """Every REST operation; user-scoped ones take the user id first (sent as X-User-Id)."""

    health = Operation(connection.health)
    connect = Operation(connection.connect)
    connect_status = Operation(connection.connect_status)
    confirm_connect = Operation(connection.confirm_connect)
    reject_connect = Operation(connection.reject_connect)
    complete_callback = Operation(connection.complete_callback)
    disconnect = Operation(connection.disconnect)
    get_connection = Operation(connection.get_connection)
    list_connections = Operation(connection.list_connections)
    get_token = Operation(connection.get_token)
    get_credentials = Operation(connection.get_credentials)
    list_buckets = Operation(s3.list_buckets)
    list_objects = Operation(s3.list_objects)
    iter_objects = Listing(s3.iter_objects)
    get_object = Operation(s3.get_object)
    put_object = Operation(s3.put_object)
    delete_object = Operation(s3.delete_object)
    presign = Operation(s3.presign)
    upload_file = Operation(s3.upload_file)
    download_file = Operation(s3.download_file)
    list_functions = Operation(lambda_.list_functions)
    iter_functions = Listing(lambda_.iter_functions)
    get_function = Operation(lambda_.get_function)
    invoke = Operation(lambda_.invoke)
