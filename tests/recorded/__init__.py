"""Turns of the real Claude Code CLI recorded as claude-agent-sdk messages: the JSON files, how they are read (sdk_messages.py) and made (record.py)."""
