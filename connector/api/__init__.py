"""HTTP transport: Litestar controllers, guards, the envelope; thin over the services."""
