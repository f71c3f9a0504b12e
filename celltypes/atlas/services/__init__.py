"""Every write to the atlas, one module per domain."""
