"""Letting Qwen3-Coder explore the repository: the engine's read-only tools for a model, and the agentic `ask`.

`context.agent.lookup` holds the lookups the MCP tools and the model's tools share (checked paths, definitions by
name or position, numbered code, references with their lines); `context.agent.tools` offers them to the model
(schemas and a budgeted `ToolBox`); `context.agent.loop.ask` runs the bounded conversation. The command line's
`ask` and the MCP tool `ask_qwen` both call `ask`.
"""

from __future__ import annotations

from context.agent.loop import AgentAnswer, AgentEvent, AgentLimits, Notice, ToolAnswered, ToolCalled, ask
from context.agent.tools import TOOLS, ToolBox, ToolResult

__all__ = ["TOOLS", "AgentAnswer", "AgentEvent", "AgentLimits", "Notice", "ToolAnswered", "ToolBox", "ToolCalled",
           "ToolResult", "ask"]
