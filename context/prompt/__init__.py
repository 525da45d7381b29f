"""The prompt stage: rank what the cursor needs, count exact Qwen tokens, pack to a budget, write FIM and chat prompts and the repository map."""
