"""The model gateway: the one place that holds the model's credentials.

Every Claude Code CLI of every user server talks to it with a token of its
own person's; it checks who is asking and for which agent, refuses what is
over a budget or outside the allowed models, forwards the rest to Anthropic
or Vertex AI, passes the streamed answer on event by event, and meters what
each request used.
"""
