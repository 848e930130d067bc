"""luma-agents-mcp: an MCP server for image generation and editing with the Luma Agents API."""

__version__ = "0.1.0"
