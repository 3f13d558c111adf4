"""``smartcache-ls mcp``: the developer's working set and the cache, for AI assistants over MCP.

``server`` adapts MCP (the only module importing the ``mcp`` SDK) to ``tools``
(budgets, shapes), which ask a ``backend``: the editor's session over the live
``link`` when one serves the workspace, else a standalone engine. ``queries``
read an engine; ``endpoints`` is the editor side of the link.
"""
