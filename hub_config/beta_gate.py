"""Only approved people (members of the beta group) and admins get a server.

This runs in the hub before every spawn, whichever route asked for it (the
home page, /hub/spawn, the REST API with the person's own token), so hiding a
button is never the only thing that stops an unapproved person.
"""

from __future__ import annotations

import logging

from tornado import web


def may_start_server(user, beta_group: str) -> bool:
    """The one rule, for the gate and for the pages that offer a server or the beta application."""
    return user is not None and (bool(user.admin) or any(group.name == beta_group for group in user.groups))


class BetaRefused(web.HTTPError):
    """A spawn refused because the person is not approved for the beta.

    JupyterHub shows a failed spawn as "Failed to start your server ... contact
    admin" (its reason "error" replaces the message); ``jupyterhub_message`` is
    what it shows instead, and ``beta_refusal`` tells the hub's error page
    (hub_config/templates/error.html) to show where to apply."""

    beta_refusal = True
    # How every log line about this refusal starts (see QuietRefusals).
    MESSAGE = "Your account is not approved for the beta yet, so no server can be started."

    def __init__(self, apply_url: str) -> None:
        message = f"{self.MESSAGE} Apply (or see your application) at {apply_url}"
        super().__init__(403, message)
        self.jupyterhub_message = message


def beta_gate(beta_group: str, apply_url: str):
    """A Spawner.pre_spawn_hook refusing people outside ``beta_group``."""

    def pre_spawn_hook(spawner) -> None:
        if may_start_server(spawner.user, beta_group):
            return
        # The one line the hub logs about a refusal: an expected event, so INFO (QuietRefusals drops the rest).
        spawner.log.info("Refused a server to %s: not approved for the beta", spawner.user.name)
        raise BetaRefused(apply_url)

    return pre_spawn_hook


class QuietRefusals(logging.Filter):
    """Drops what JupyterHub and tornado log again about a refusal of the beta gate.

    JupyterHub logs any HTTPError out of a spawn as an error, twice ("Error starting ...'s server" and
    "Error starting server ..."), again on the next visit of the spawn page ("Previous spawn for ...
    failed"), and tornado once more as a warning ("403 GET /hub/spawn: ..."): four lines, three at error
    level, for an expected event that pre_spawn_hook has already logged in one INFO line. Started from
    the spawn page's form it logs "Failed to spawn single-user server with form" with the refusal's
    traceback instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        error = record.exc_info[1] if record.exc_info else None
        return not (BetaRefused.MESSAGE in record.getMessage() or isinstance(error, BetaRefused))


def quiet_refusals(loggers=("JupyterHub", "tornado.application", "tornado.general")) -> None:
    """Installs QuietRefusals on the loggers that repeat a refusal (once, however often configured)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, QuietRefusals) for existing in logger.filters):
            logger.addFilter(QuietRefusals())
