"""luma-agents-mcp: an MCP server for the Luma Agents API (uni-1, uni-1-max)."""
