claude mcp add qwen -- qwen-mcp --root "$(pwd)"
