"""A sign-in for running the platform on one machine without Google.

Anyone who can reach the hub may sign in as any e-mail address, so the
platform refuses to start with it unless the hub listens on the loopback
interface only (see platform.py).
"""

from __future__ import annotations

import re

from jupyterhub.auth import Authenticator

EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")


class DevLoginAuthenticator(Authenticator):
    """Signs in with an e-mail address and no password (loopback only)."""

    async def authenticate(self, handler, data):
        """Overrides Authenticator.authenticate: the e-mail address is the whole credential."""
        email = (data.get("username") or "").strip().lower()
        if not EMAIL.match(email):
            self.log.info("Dev login refused a name that is not an e-mail address: %r", email[:80])
            return None
        return {"name": email}
