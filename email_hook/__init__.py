"""E-mail for beta events: templates that fill the outbox, and the sender that empties it.

`OutboxSender` (sender.py) is the agents service's e-mail component (named by
the service's ``mailer_class`` setting; the service imports nothing of this
package): its `compose` renders an event's e-mail (templates.py) into an
`OutboxMessage` that the service stores together with the event, and it
delivers due outbox messages over SMTP with aiosmtplib.
"""

from email_hook.sender import OutboxSender
from email_hook.templates import compose, render

__all__ = ["OutboxSender", "compose", "render"]
