"""Serving helpers both adapters share (the LSP and MCP servers): a serial worker thread and the wording of model-backed tasks."""
