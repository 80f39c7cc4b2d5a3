"""E-mail for beta events: templates that fill the outbox, and the sender that empties it.

`compose()` (templates.py) renders an event's e-mail into an `OutboxMessage`
that the agents service stores together with the event; `OutboxSender`
(sender.py) delivers due outbox messages over SMTP with aiosmtplib.
"""

from email_hook.sender import OutboxSender
from email_hook.templates import compose, render

__all__ = ["OutboxSender", "compose", "render"]
