"""Small, real MCP servers that misbehave on purpose, for the MCP source and serving tests."""
