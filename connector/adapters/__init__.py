"""Adapters: each implements a port with one technology and knows nothing of the app."""
