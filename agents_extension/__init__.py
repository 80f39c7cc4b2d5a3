"""The agents service (hub side) and the user-server extension of oh-my-agent."""
