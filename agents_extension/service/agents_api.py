"""The agents REST API: a person's agents (create, read, replace, change, delete),
their Claude sessions as the kernel reports them, and the usage adding up from those.

Ownership is checked on every request: another person's agent answers exactly
like one that does not exist (404), so ids, names and owners never leak. Admins
may list everyone's agents (``?all=1``) but change only their own, like anyone.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from tornado import web

from oma_contract import AgentOptions

from ..store import Agent, AgentUsage, Conflict, NotFound, Session
from ..store.rules import usage_by_agent
from . import agent_fields as fields
from .agent_fields import AgentFieldError
from .handlers import APIHandler, FieldError, to_json

log = logging.getLogger("oh-my-agent.service")

# Ids the service hands out are uuid4 hex; anything unlike an id is simply not found.
AGENT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A write that loses a race (a name, folder name or version taken meanwhile) is
# checked again from a fresh read this many times before the caller is told. Each
# round one of the writers racing for a folder name wins it, so this many can race.
WRITE_ATTEMPTS = 10


def agent_json(agent: Agent, usage: AgentUsage | None) -> dict[str, Any]:
    """Every stored field of the agent, with its usage (zeros when unused)."""
    usage = usage or AgentUsage(agent_id=agent.id)
    totals = to_json(usage)
    totals.pop("agent_id")
    return {**to_json(agent), "usage": totals}


class AgentsAPIHandler(APIHandler):
    @property
    def models(self) -> tuple[str, ...]:
        return self.settings["models"]

    def checked(self, check, *args: Any, **kwargs: Any) -> Any:
        """Run a check of ``agent_fields``, turning its complaint into a 400 naming the field."""
        try:
            return check(*args, **kwargs)
        except AgentFieldError as err:
            raise FieldError(err.field, str(err)) from None

    async def own_agent(self, agent_id: str) -> Agent:
        """The caller's agent; anyone else's is a 404 word for word like an id nobody has."""
        agent = await self.store.get_agent(agent_id) if AGENT_ID.fullmatch(agent_id) else None
        if agent is None or agent.owner != self.email:
            raise web.HTTPError(404, "You have no agent with this id: it was deleted, or the link is wrong.")
        return agent

    async def usage_of(self, agent: Agent) -> AgentUsage:
        """The agent's usage, added up by the store's rule from its sessions alone: ``store.agent_usage``
        would read all the owner's agents and sessions for one agent."""
        return usage_by_agent([agent], await self.store.list_sessions(agent.owner, agent.id))[agent.id]

    def send_agent(self, agent: Agent, usage: AgentUsage | None, status: int = 200) -> None:
        self.set_header("ETag", f'"{agent.version}"')
        self.send(agent_json(agent, usage), status)

    def slug_for(self, name: str, others: list[Agent], current: Agent | None = None) -> str:
        """The folder name for ``name``: unchanged when the name's derived slug is (the folder stays
        where it is), else derived from it, with a number when one of ``others`` holds it."""
        if current is not None and fields.derive_slug(name) == fields.derive_slug(current.name):
            return current.slug
        return fields.unique_slug(fields.derive_slug(name), {a.slug for a in others})

    async def after_clash(self, name: str, current: Agent | None = None) -> str:
        """After the store refused a write: a 400 when the name is taken, else a free folder name."""
        others = [a for a in await self.store.list_agents(self.email) if current is None or a.id != current.id]
        if fields.name_taken(name, [a.name for a in others]):
            raise FieldError("name", f"You already have an agent named '{name}' (names are compared ignoring case). "
                                     "Pick another name.")
        return self.slug_for(name, others, current)


class AgentsAPI(AgentsAPIHandler):
    async def get(self) -> None:
        scope = self.get_query_argument("all", "0").lower()
        if scope not in ("0", "1", "false", "true", "no", "yes"):
            raise FieldError("all", "all must be 1 (everyone's agents, for admins) or 0 (your own).")
        if scope in ("1", "true", "yes"):
            if not self.is_admin:
                raise web.HTTPError(403, "Only JupyterHub admins may list everyone's agents; leave out all=1 to list yours.")
            agents = await self.store.list_agents()
        else:
            agents = await self.store.list_agents(self.email)
        usage: dict[str, AgentUsage] = {}
        for owner in dict.fromkeys(a.owner for a in agents):
            # The agents just read, with the owner's sessions: store.agent_usage would read the agents again.
            usage.update(usage_by_agent([a for a in agents if a.owner == owner], await self.store.list_sessions(owner)))
        self.send([agent_json(a, usage.get(a.id)) for a in agents])

    async def post(self) -> None:
        await self.require_beta()
        data, _ = self.checked(fields.agent_input, self.body(), self.models, partial=False, version_allowed=False)
        # Optimistic: the store refuses a taken name or folder name, and only then are the others read.
        slug = fields.derive_slug(data["name"])
        for _attempt in range(WRITE_ATTEMPTS):
            try:
                agent = await self.store.create_agent(Agent(id=uuid.uuid4().hex, owner=self.email, slug=slug, **data))
            except Conflict:
                slug = await self.after_clash(data["name"])
                continue
            log.info("%s created agent %s (%s)", self.email, agent.id, agent.slug)
            self.set_header("Location", self.url(f"api/agents/{agent.id}"))
            return self.send_agent(agent, None, 201)
        raise web.HTTPError(409, "Your agents changed while this one was being created; try again.")

    async def require_beta(self) -> None:
        # Admins may always have agents, as they may always start servers; their own server's token
        # carries no admin scope, so the configured admins are known by address too.
        if self.is_admin or self.email in self.desk.admin_emails:
            return
        person = await self.store.get_person(self.email)
        if person is None or person.beta_status != "approved":
            raise web.HTTPError(403, "Creating agents is open to people approved for the beta. "
                                     f"Apply at {self.url('beta')}; you will get an e-mail when you are approved.")


class AgentAPI(AgentsAPIHandler):
    async def get(self, agent_id: str) -> None:
        agent = await self.own_agent(agent_id)
        self.send_agent(agent, await self.usage_of(agent))

    async def put(self, agent_id: str) -> None:
        await self.change(agent_id, partial=False)

    async def patch(self, agent_id: str) -> None:
        await self.change(agent_id, partial=True)

    async def change(self, agent_id: str, *, partial: bool) -> None:
        """Replace (PUT) or change (PATCH) an agent; the store bumps its version."""
        agent = await self.own_agent(agent_id)
        changes, in_body = self.checked(fields.agent_input, self.body(), self.models, partial=partial)
        expected = self.checked(fields.expected_version, in_body,
                                self.checked(fields.if_match_version, self.request.headers.get("If-Match")))
        if "name" in changes:
            changes["slug"] = self.slug_for(changes["name"], [], agent)  # optimistic, as on create
        for _attempt in range(WRITE_ATTEMPTS):
            if expected is not None and expected != agent.version:
                raise web.HTTPError(409, f"This agent was changed since you loaded it: it is at version {agent.version}, "
                                         f"not {expected}. Reload it and make your change again.")
            if not changes:
                return self.send_agent(agent, await self.usage_of(agent))
            try:
                # At the version read: a change made meanwhile is looked at before this one is saved over it.
                updated = await self.store.update_agent(agent.id, changes, expected_version=agent.version)
            except Conflict:
                agent = await self.own_agent(agent_id)  # changed meanwhile, or the name or folder name is taken
                if "name" in changes:
                    changes["slug"] = await self.after_clash(changes["name"], agent)
                continue
            log.info("%s changed agent %s (version %d)", self.email, updated.id, updated.version)
            return self.send_agent(updated, await self.usage_of(updated))
        raise web.HTTPError(409, "This agent kept changing while your change was being saved; reload it and try again.")

    async def delete(self, agent_id: str) -> None:
        agent = await self.own_agent(agent_id)
        await self.store.delete_agent(agent.id)
        log.info("%s deleted agent %s", self.email, agent.id)
        self.set_status(204)
        self.finish()


class AgentSessionsAPI(AgentsAPIHandler):
    async def get(self, agent_id: str) -> None:
        agent = await self.own_agent(agent_id)
        self.send(await self.store.list_sessions(self.email, agent.id))


class SessionsAPI(AgentsAPIHandler):
    async def post(self) -> None:
        """The kernel reports a Claude session: created or updated by its id, totals as they stand."""
        report = self.checked(fields.session_report, self.body())
        agent = await self.own_agent(report["agent_id"])
        try:
            session = await self.store.record_session(Session(owner=self.email, **{**report, "agent_id": agent.id}))
        except NotFound:
            # Another person's session, or another agent's: the same answer as for an id nobody has.
            log.warning("%s reported session %s for agent %s, which is not theirs: refused", self.email,
                        report["session_id"], agent.id)
            raise web.HTTPError(404, "You have no session with this id for this agent: a report must be about a "
                                     "session of your own agent, under the id Claude Code gave it.") from None
        self.send(session)


class AgentOptionsAPI(AgentsAPIHandler):
    async def get(self) -> None:
        """What the agent form may offer: the user server cannot read the service's settings."""
        self.send(AgentOptions(models=list(self.models)).model_dump(mode="json"))
