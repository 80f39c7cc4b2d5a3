"""Only approved people (members of the beta group) and admins get a server.

This runs in the hub before every spawn, whichever route asked for it (the
home page, /hub/spawn, the REST API with the person's own token), so hiding a
button is never the only thing that stops an unapproved person.
"""

from __future__ import annotations

from tornado import web


def may_start_server(user, beta_group: str) -> bool:
    return bool(user.admin) or any(group.name == beta_group for group in user.groups)


def beta_gate(beta_group: str, apply_url: str):
    """A Spawner.pre_spawn_hook refusing people outside ``beta_group``."""

    def pre_spawn_hook(spawner) -> None:
        if may_start_server(spawner.user, beta_group):
            return
        spawner.log.info("Refused a server to %s: not approved for the beta", spawner.user.name)
        raise web.HTTPError(
            403,
            f"Your account is not approved for the beta yet, so no server can be started. "
            f"Apply (or see your application) at {apply_url}",
        )

    return pre_spawn_hook
