"""Clients for the systems behind the care actions (one module per service)."""
