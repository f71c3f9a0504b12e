"""Every read of the atlas, one module per domain: pages, the RMA and REST APIs, tasks and commands call these."""
