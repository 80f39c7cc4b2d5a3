"""JupyterHub configuration of oh-my-agent: sign-in, spawner, beta gate, the agents service."""
