"""Services: the application's use cases; they see ports, never SDKs or HTTP."""
