"""The model stage: settings for an OpenAI-compatible endpoint, the client that streams from it, clean-up of what it answers, and a local stand-in server."""
