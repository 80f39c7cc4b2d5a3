"""One conformance suite for every store backend: each test runs on SQLite and on the Firestore emulator."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from agents_extension.store import (
    Agent,
    BetaApplication,
    BetaDecision,
    Conflict,
    NotFound,
    OutboxMessage,
    Session,
    Store,
    open_store,
)

T0 = datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message(message_id: str, event: str = "test", **fields) -> OutboxMessage:
    defaults = dict(to=["someone@example.com"], subject=f"Subject {message_id}", text=f"Text {message_id}",
                    html=f"<p>{message_id}</p>")
    return OutboxMessage(id=message_id, event=event, **{**defaults, **fields})


def application(name: str = "Ada Lovelace", **fields) -> BetaApplication:
    return BetaApplication(name=name, purpose="Analyse engines", **fields)


def agent(agent_id: str, owner: str = "ada@example.com", name: str | None = None, **fields) -> Agent:
    name = name or f"Agent {agent_id}"
    return Agent(id=agent_id, owner=owner, name=name, slug=name.lower().replace(" ", "-"), **fields)


async def outbox_ids(store: Store) -> set[str]:
    return {m.id for m in await store.list_outbox()}


# -- people and beta access ----------------------------------------------------


async def test_sign_in_creates_the_person_then_refreshes_their_profile(store: Store):
    first = await store.record_sign_in("Ada@Example.com", name="Ada", picture="https://pic/1", google_id="g-1")
    assert first.email == "ada@example.com"
    assert (first.name, first.picture, first.google_id, first.beta_status) == ("Ada", "https://pic/1", "g-1", "none")
    assert first.created_at is not None and first.created_at == first.last_seen_at
    assert await store.get_person("ADA@example.com") == first

    await asyncio.sleep(0.01)
    again = await store.record_sign_in("ada@example.com", name="Ada L.")
    assert again.name == "Ada L."
    assert again.picture == "https://pic/1", "an empty value must not erase what is stored"
    assert again.google_id == "g-1"
    assert again.created_at == first.created_at
    assert again.last_seen_at > first.last_seen_at
    assert await store.get_person("ada@example.com") == again


async def test_unknown_person_is_none(store: Store):
    assert await store.get_person("nobody@example.com") is None


async def test_applying_records_a_pending_application_and_queues_its_messages(store: Store):
    await store.record_sign_in("ada@example.com", name="Ada")
    applied = await store.apply_for_beta(
        "ada@example.com",
        application(organisation="Analytical Society", language="ko"),
        [message("m-applicant", "beta.applied.applicant"), message("m-admins", "beta.applied.admins")],
    )
    assert applied.beta_status == "pending"
    assert applied.application.organisation == "Analytical Society"
    assert applied.application.language == "ko"
    assert applied.application.applied_at is not None
    assert applied.decision is None
    assert applied.name == "Ada", "applying keeps the signed-in profile"
    assert await store.get_person("ada@example.com") == applied

    queued = {m.id: m for m in await store.list_outbox()}
    assert set(queued) == {"m-applicant", "m-admins"}
    for m in queued.values():
        assert m.status == "pending" and m.attempts == 0
        assert m.created_at is not None and m.next_attempt_at == m.created_at
    assert queued["m-applicant"].event == "beta.applied.applicant"
    assert queued["m-applicant"].to == ["someone@example.com"]


async def test_applying_creates_a_person_who_never_signed_in(store: Store):
    applied = await store.apply_for_beta("Grace@Example.com", application("Grace"), [])
    assert applied.email == "grace@example.com"
    assert applied.beta_status == "pending"
    assert applied.created_at is not None
    assert await store.get_person("grace@example.com") == applied


@pytest.mark.parametrize("status", ["pending", "approved"])
async def test_applying_again_conflicts_and_queues_nothing(store: Store, status: str):
    await store.apply_for_beta("ada@example.com", application(), [message("first")])
    if status == "approved":
        await store.decide_beta("ada@example.com", BetaDecision("approved", by="admin@example.com"), [])
    before = await store.get_person("ada@example.com")

    with pytest.raises(Conflict):
        await store.apply_for_beta("ada@example.com", application("Someone else"), [message("second")])

    assert await outbox_ids(store) == {"first"}, "a refused application must not leave its e-mails behind"
    assert await store.get_person("ada@example.com") == before


async def test_reapplying_after_a_rejection_starts_over(store: Store):
    await store.apply_for_beta("ada@example.com", application("First try"), [])
    await store.decide_beta("ada@example.com", BetaDecision("rejected", by="admin@example.com", note="not yet"), [])

    again = await store.apply_for_beta("ada@example.com", application("Second try"), [message("again")])
    assert again.beta_status == "pending"
    assert again.application.name == "Second try"
    assert again.decision is None
    assert await store.get_person("ada@example.com") == again
    assert await outbox_ids(store) == {"again"}


@pytest.mark.parametrize("status", ["approved", "rejected"])
async def test_deciding_records_the_decision_and_queues_its_messages(store: Store, status: str):
    await store.apply_for_beta("ada@example.com", application(), [])
    decided = await store.decide_beta(
        "ADA@example.com", BetaDecision(status, by="admin@example.com", note="welcome"), [message(f"m-{status}", f"beta.{status}")]
    )
    assert decided.beta_status == status
    assert (decided.decision.status, decided.decision.by, decided.decision.note) == (status, "admin@example.com", "welcome")
    assert decided.decision.at is not None
    assert decided.application.name == "Ada Lovelace", "the decision keeps the application it decided"
    assert await store.get_person("ada@example.com") == decided
    assert [(m.id, m.event) for m in await store.list_outbox()] == [(f"m-{status}", f"beta.{status}")]


async def test_deciding_works_from_any_status(store: Store):
    await store.record_sign_in("ada@example.com")
    decided = await store.decide_beta("ada@example.com", BetaDecision("approved", by="jupyterhub-group", at=at(5)), [])
    assert decided.beta_status == "approved"
    assert decided.decision.at == at(5)
    revoked = await store.decide_beta("ada@example.com", BetaDecision("rejected", by="jupyterhub-group"), [])
    assert revoked.beta_status == "rejected"


@pytest.mark.parametrize("status", ["approved", "rejected"])
async def test_deciding_what_a_person_already_has_changes_nothing_and_queues_nothing(store: Store, status: str):
    await store.apply_for_beta("ada@example.com", application(), [])
    first = await store.decide_beta("ada@example.com", BetaDecision(status, by="admin@example.com", at=at(1)),
                                    [message("first")])
    again = await store.decide_beta("ada@example.com", BetaDecision(status, by="other@example.com", note="again", at=at(2)),
                                    [message("second")])
    assert again == first, "the earlier decision stays"
    assert await store.get_person("ada@example.com") == first
    assert await outbox_ids(store) == {"first"}


async def test_concurrent_identical_decisions_queue_one_message(store: Store):
    await store.apply_for_beta("ada@example.com", application(), [])
    await asyncio.gather(*(
        store.decide_beta("ada@example.com", BetaDecision("approved", by="admin@example.com"), [message(f"m{i}")])
        for i in range(3)
    ), return_exceptions=True)
    assert len(await outbox_ids(store)) == 1
    assert (await store.get_person("ada@example.com")).beta_status == "approved"


async def test_deciding_for_an_unknown_person_is_not_found_and_queues_nothing(store: Store):
    with pytest.raises(NotFound):
        await store.decide_beta("nobody@example.com", BetaDecision("approved", by="admin@example.com"), [message("m")])
    assert await store.list_outbox() == []


async def test_people_are_listed_newest_application_first_and_filtered_by_status(store: Store):
    await store.record_sign_in("early@example.com")
    await asyncio.sleep(0.01)
    await store.record_sign_in("late@example.com")
    await store.apply_for_beta("old@example.com", application(applied_at=at(10)), [])
    await store.apply_for_beta("new@example.com", application(applied_at=at(30)), [])
    await store.apply_for_beta("mid@example.com", application(applied_at=at(20)), [])
    await store.decide_beta("mid@example.com", BetaDecision("approved", by="admin@example.com"), [])
    await store.apply_for_beta("no@example.com", application(applied_at=at(5)), [])
    await store.decide_beta("no@example.com", BetaDecision("rejected", by="admin@example.com"), [])

    everyone = [p.email for p in await store.list_people()]
    assert everyone == [
        "new@example.com", "mid@example.com", "old@example.com", "no@example.com",
        "late@example.com", "early@example.com",
    ]
    assert [p.email for p in await store.list_people("pending")] == ["new@example.com", "old@example.com"]
    assert [p.email for p in await store.list_people("approved")] == ["mid@example.com"]
    assert [p.email for p in await store.list_people("rejected")] == ["no@example.com"]
    assert [p.email for p in await store.list_people("none")] == ["late@example.com", "early@example.com"]


APPROVE = BetaDecision("approved", by="admin@example.com")
REJECT = BetaDecision("rejected", by="admin@example.com")


def statuses(changes) -> list[tuple[str, str]]:
    return [(p.email, p.beta_status) for p in changes.people]


async def test_beta_changes_list_applications_and_decisions_after_the_cursor(store: Store):
    await store.record_sign_in("ada@example.com")
    await store.record_sign_in("grace@example.com")
    start = await store.beta_changes_cursor()
    nothing = await store.beta_changes_since(start)
    assert nothing.people == [] and nothing.cursor == start

    await store.apply_for_beta("ada@example.com", application(), [])
    await store.decide_beta("grace@example.com", APPROVE, [])
    first = await store.beta_changes_since(start)
    assert statuses(first) == [("ada@example.com", "pending"), ("grace@example.com", "approved")]
    assert first.people[1] == await store.get_person("grace@example.com")

    assert (await store.beta_changes_since(first.cursor)).people == []
    await store.decide_beta("ada@example.com", REJECT, [])
    assert statuses(await store.beta_changes_since(first.cursor)) == [("ada@example.com", "rejected")]


async def test_sign_ins_and_decisions_that_change_nothing_are_not_beta_changes(store: Store):
    await store.apply_for_beta("ada@example.com", application(), [])
    await store.decide_beta("ada@example.com", APPROVE, [])
    cursor = await store.beta_changes_cursor()

    await store.record_sign_in("ada@example.com", name="Ada L.")
    await store.record_sign_in("new@example.com")
    await store.decide_beta("ada@example.com", APPROVE, [])  # already approved: nothing changes
    changes = await store.beta_changes_since(cursor)
    assert changes.people == [] and changes.cursor == cursor


async def test_a_person_changed_twice_is_listed_once_as_they_are_now(store: Store):
    cursor = await store.beta_changes_cursor()
    await store.apply_for_beta("ada@example.com", application(), [])
    await store.apply_for_beta("grace@example.com", application("Grace Hopper"), [])
    await store.decide_beta("ada@example.com", APPROVE, [])

    changes = await store.beta_changes_since(cursor)
    assert statuses(changes) == [("grace@example.com", "pending"), ("ada@example.com", "approved")]


async def test_the_cursor_taken_now_leaves_out_earlier_changes(store: Store):
    await store.apply_for_beta("ada@example.com", application(), [])
    cursor = await store.beta_changes_cursor()
    assert (await store.beta_changes_since(cursor)).people == []
    await store.decide_beta("ada@example.com", REJECT, [])
    assert statuses(await store.beta_changes_since(cursor)) == [("ada@example.com", "rejected")]


async def test_polling_while_people_are_decided_concurrently_misses_no_change(store: Store):
    emails = [f"person{i}@example.com" for i in range(12)]
    for email in emails:
        await store.record_sign_in(email)
    cursor = await store.beta_changes_cursor()
    seen: dict[str, str] = {}
    deciding = asyncio.gather(*(store.decide_beta(email, APPROVE, []) for email in emails))
    while not deciding.done():
        changes = await store.beta_changes_since(cursor)
        seen.update(statuses(changes))
        cursor = changes.cursor
        await asyncio.sleep(0)
    await deciding
    seen.update(statuses(await store.beta_changes_since(cursor)))
    assert seen == {email: "approved" for email in emails}


@pytest.mark.parametrize("cursor", ["", "not a cursor", "-1", "2025-03-01T09:00:00"])
async def test_a_cursor_the_store_did_not_make_is_refused(store: Store, cursor: str):
    with pytest.raises(ValueError, match="not a cursor"):
        await store.beta_changes_since(cursor)


async def test_naive_times_are_refused(store: Store):
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.apply_for_beta("ada@example.com", application(applied_at=datetime(2025, 1, 1)), [])


# -- agents ----------------------------------------------------------------------


async def test_created_agent_reads_back_whole(store: Store):
    created = await store.create_agent(agent(
        "a1", name="Researcher", description="Reads papers", instructions="Be thorough.\n" * 50,
        model="claude-sonnet-4-5", permission_mode="acceptEdits", allowed_tools=["Read", "Bash(ls:*)"],
        disallowed_tools=["WebFetch"], max_turns=12, max_budget_usd=1.5, status="active",
    ))
    assert created.version == 1
    assert created.created_at is not None and created.updated_at == created.created_at
    assert await store.get_agent("a1") == created
    assert await store.get_agent("missing") is None


async def test_an_agent_with_a_used_id_conflicts(store: Store):
    await store.create_agent(agent("a1", name="One"))
    with pytest.raises(Conflict):
        await store.create_agent(agent("a1", name="Two"))
    assert (await store.get_agent("a1")).name == "One"


async def test_agents_are_listed_per_owner_oldest_first(store: Store):
    await store.create_agent(agent("b", owner="ada@example.com", created_at=at(20)))
    await store.create_agent(agent("a", owner="ada@example.com", created_at=at(10)))
    await store.create_agent(agent("c", owner="grace@example.com", created_at=at(15)))

    assert [a.id for a in await store.list_agents("ada@example.com")] == ["a", "b"]
    assert [a.id for a in await store.list_agents("Grace@example.com")] == ["c"]
    assert [a.id for a in await store.list_agents()] == ["a", "c", "b"]
    assert await store.list_agents("nobody@example.com") == []


async def test_updating_an_agent_bumps_its_version_and_updated_at(store: Store):
    created = await store.create_agent(agent("a1", name="Researcher", allowed_tools=["Read"]))
    await asyncio.sleep(0.01)
    updated = await store.update_agent("a1", {
        "name": "Senior Researcher", "slug": "senior-researcher", "instructions": "Cite sources.",
        "allowed_tools": ["Read", "Grep"], "max_turns": None, "status": "paused",
    })
    assert updated.version == 2
    assert updated.updated_at > created.updated_at
    assert updated.created_at == created.created_at
    assert (updated.name, updated.slug, updated.instructions) == ("Senior Researcher", "senior-researcher", "Cite sources.")
    assert updated.allowed_tools == ["Read", "Grep"]
    assert updated.status == "paused"
    assert await store.get_agent("a1") == updated

    again = await store.update_agent("a1", {"description": "x"}, expected_version=2)
    assert again.version == 3


async def test_an_update_made_to_a_stale_version_conflicts(store: Store):
    await store.create_agent(agent("a1"))
    await store.update_agent("a1", {"description": "first edit"}, expected_version=1)
    with pytest.raises(Conflict, match="version"):
        await store.update_agent("a1", {"description": "second edit"}, expected_version=1)
    stored = await store.get_agent("a1")
    assert (stored.description, stored.version) == ("first edit", 2)


async def test_agent_names_and_slugs_are_unique_per_owner(store: Store):
    await store.create_agent(agent("a1", name="Researcher"))
    await store.create_agent(agent("a2", name="Writer"))

    with pytest.raises(Conflict, match="named"):
        await store.create_agent(Agent(id="a3", owner="ada@example.com", name="RESEARCHER", slug="other"))
    with pytest.raises(Conflict, match="slug"):
        await store.create_agent(Agent(id="a3", owner="ada@example.com", name="Another", slug="researcher"))
    with pytest.raises(Conflict):
        await store.update_agent("a2", {"name": "researcher"})
    with pytest.raises(Conflict):
        await store.update_agent("a2", {"slug": "researcher"})
    writer = await store.get_agent("a2")
    assert (writer.name, writer.slug, writer.version) == ("Writer", "writer", 1), "a refused change changes nothing"
    assert await store.get_agent("a3") is None


async def test_another_owner_may_use_the_same_name(store: Store):
    await store.create_agent(agent("a1", owner="ada@example.com", name="Researcher"))
    theirs = await store.create_agent(agent("a2", owner="grace@example.com", name="Researcher"))
    assert theirs.slug == "researcher"


async def test_renaming_frees_the_old_name_and_slug(store: Store):
    await store.create_agent(agent("a1", name="Researcher"))
    await store.update_agent("a1", {"name": "Analyst", "slug": "analyst"})
    reused = await store.create_agent(agent("a2", name="Researcher"))
    assert reused.slug == "researcher"
    with pytest.raises(Conflict):
        await store.create_agent(Agent(id="a3", owner="ada@example.com", name="analyst", slug="x"))


async def test_renaming_to_another_case_of_its_own_name_is_allowed(store: Store):
    await store.create_agent(agent("a1", name="researcher"))
    renamed = await store.update_agent("a1", {"name": "Researcher"})
    assert renamed.name == "Researcher"


@pytest.mark.parametrize("changes", [{"id": "x"}, {"owner": "grace@example.com"}, {"version": 7}, {"colour": "red"}])
async def test_changes_to_fixed_or_unknown_fields_are_refused(store: Store, changes: dict):
    await store.create_agent(agent("a1"))
    with pytest.raises(ValueError):
        await store.update_agent("a1", changes)


async def test_updating_an_unknown_agent_is_not_found(store: Store):
    with pytest.raises(NotFound):
        await store.update_agent("missing", {"description": "x"})


async def test_a_deleted_agent_is_gone_and_its_name_free(store: Store):
    await store.create_agent(agent("a1", name="Researcher"))
    await store.delete_agent("a1")
    assert await store.get_agent("a1") is None
    assert await store.list_agents("ada@example.com") == []
    with pytest.raises(NotFound):
        await store.delete_agent("a1")
    with pytest.raises(NotFound):
        await store.update_agent("a1", {"description": "x"})
    assert (await store.create_agent(agent("a2", name="Researcher"))).version == 1


@pytest.mark.parametrize("agent_id", ["", "a/b", "__reserved__"])
async def test_ids_no_record_can_have_are_refused_or_absent(store: Store, agent_id: str):
    with pytest.raises(ValueError):
        await store.create_agent(agent(agent_id, name="Odd"))
    assert await store.get_agent(agent_id) is None
    with pytest.raises(NotFound):
        await store.delete_agent(agent_id)


# -- sessions and usage ------------------------------------------------------------


def session(session_id: str, agent_id: str = "a1", owner: str = "ada@example.com", **fields) -> Session:
    return Session(session_id=session_id, owner=owner, agent_id=agent_id, **fields)


async def test_recording_a_session_again_updates_it_and_keeps_created_at(store: Store):
    first = await store.record_session(session("s1", notebook="work/paper.ipynb", turns=1, input_tokens=100,
                                               output_tokens=20, cost_usd=0.01))
    assert first.created_at is not None and first.updated_at is not None
    await asyncio.sleep(0.01)
    second = await store.record_session(session("s1", notebook="work/paper.ipynb", turns=3, input_tokens=300,
                                                output_tokens=60, cost_usd=0.03, status="closed",
                                                created_at=at(0)))
    assert second.created_at == first.created_at, "created_at comes from the first write"
    assert second.updated_at > first.updated_at
    assert (second.turns, second.status) == (3, "closed")
    assert await store.list_sessions("ada@example.com") == [second]


@pytest.mark.parametrize(("owner", "agent_id"), [("grace@example.com", "a1"), ("grace@example.com", "g1"),
                                               ("ada@example.com", "a2")])
async def test_a_session_belongs_to_its_owner_and_agent(store: Store, owner: str, agent_id: str):
    mine = await store.record_session(session("s1", "a1", turns=4, cost_usd=0.5))
    with pytest.raises(NotFound):
        await store.record_session(session("s1", agent_id, owner=owner, turns=0, cost_usd=0.0))
    assert await store.list_sessions("ada@example.com") == [mine], "the first reporter's record is untouched"
    assert await store.list_sessions(owner, agent_id) == []


async def test_concurrent_reports_of_one_new_session_id_leave_it_to_one_owner(store: Store):
    reports = [session("s1", "a1", turns=1), session("s1", "g1", owner="grace@example.com", turns=2)]
    results = await asyncio.gather(*(store.record_session(r) for r in reports), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["NotFound", "Session"]
    [stored] = [r for r in results if isinstance(r, Session)]
    assert await store.list_sessions(stored.owner) == [stored]
    other = "grace@example.com" if stored.owner == "ada@example.com" else "ada@example.com"
    assert await store.list_sessions(other) == []


async def test_sessions_are_listed_per_owner_and_agent_newest_first(store: Store):
    await store.record_session(session("s1", "a1", created_at=at(1)))
    await store.record_session(session("s2", "a2", created_at=at(2)))
    await store.record_session(session("s3", "a1", created_at=at(3)))
    await store.record_session(session("s4", "a1", owner="grace@example.com", created_at=at(4)))

    assert [s.session_id for s in await store.list_sessions("ada@example.com")] == ["s3", "s2", "s1"]
    assert [s.session_id for s in await store.list_sessions("ada@example.com", "a1")] == ["s3", "s1"]
    assert [s.session_id for s in await store.list_sessions("grace@example.com")] == ["s4"]
    assert await store.list_sessions("nobody@example.com") == []


async def test_agent_usage_adds_up_each_agents_sessions(store: Store):
    await store.create_agent(agent("a1", name="Researcher"))
    await store.create_agent(agent("a2", name="Writer"))
    await store.create_agent(agent("g1", owner="grace@example.com", name="Researcher"))
    await store.record_session(session("s1", "a1", turns=2, input_tokens=100, output_tokens=10, cost_usd=0.25,
                                       created_at=at(0), updated_at=at(60)))
    await store.record_session(session("s2", "a1", turns=3, input_tokens=50, output_tokens=5, cost_usd=0.5,
                                       created_at=at(100), updated_at=at(120)))
    await store.record_session(session("s3", "g1", owner="grace@example.com", turns=9, cost_usd=9.0,
                                       created_at=at(500), updated_at=at(600)))

    usage = await store.agent_usage("ada@example.com")
    assert set(usage) == {"a1", "a2"}
    researcher = usage["a1"]
    assert (researcher.sessions, researcher.turns, researcher.input_tokens, researcher.output_tokens) == (2, 5, 150, 15)
    assert researcher.cost_usd == pytest.approx(0.75)
    assert researcher.last_used_at == at(120)
    writer = usage["a2"]
    assert (writer.sessions, writer.turns, writer.cost_usd, writer.last_used_at) == (0, 0, 0.0, None)


# -- e-mail outbox -------------------------------------------------------------------


async def test_claiming_takes_only_due_messages(store: Store):
    await store.queue_messages([message("due", next_attempt_at=at(0)), message("later", next_attempt_at=at(600))])

    claimed = await store.claim_due_message(at(10), lease_seconds=30)
    assert claimed.id == "due"
    assert claimed.attempts == 1
    assert claimed.lease_until == at(40)
    assert (claimed.subject, claimed.to) == ("Subject due", ["someone@example.com"])
    assert await store.claim_due_message(at(10), lease_seconds=30) is None, "'later' is not due, 'due' is leased"


async def test_a_leased_message_is_claimable_again_once_the_lease_expires(store: Store):
    await store.queue_messages([message("m", next_attempt_at=at(0))])
    assert (await store.claim_due_message(at(0), lease_seconds=30)).attempts == 1
    assert await store.claim_due_message(at(29), lease_seconds=30) is None
    again = await store.claim_due_message(at(31), lease_seconds=30)
    assert again.id == "m"
    assert again.attempts == 2
    assert again.lease_until == at(61)


async def test_a_sent_message_is_never_claimed_again(store: Store):
    await store.queue_messages([message("m", next_attempt_at=at(0))])
    await store.claim_due_message(at(0), lease_seconds=30)
    await store.mark_sent("m", at(1))
    [sent] = await store.list_outbox()
    assert (sent.status, sent.sent_at, sent.lease_until, sent.attempts) == ("sent", at(1), None, 1)
    assert await store.claim_due_message(at(10_000), lease_seconds=30) is None


async def test_a_retried_message_waits_for_its_next_attempt(store: Store):
    await store.queue_messages([message("m", next_attempt_at=at(0))])
    await store.claim_due_message(at(0), lease_seconds=30)
    await store.mark_retry("m", "SMTP 421: try again later", at(300))
    [waiting] = await store.list_outbox()
    assert (waiting.status, waiting.last_error, waiting.next_attempt_at, waiting.lease_until) == (
        "pending", "SMTP 421: try again later", at(300), None)

    assert await store.claim_due_message(at(299), lease_seconds=30) is None
    retried = await store.claim_due_message(at(300), lease_seconds=30)
    assert (retried.id, retried.attempts) == ("m", 2)


async def test_a_retry_without_a_next_attempt_gives_up(store: Store):
    await store.queue_messages([message("m", next_attempt_at=at(0))])
    await store.claim_due_message(at(0), lease_seconds=30)
    await store.mark_retry("m", "550 no such mailbox", None)
    [failed] = await store.list_outbox()
    assert (failed.status, failed.last_error, failed.attempts) == ("failed", "550 no such mailbox", 1)
    assert await store.claim_due_message(at(10_000), lease_seconds=30) is None


async def test_marking_an_unknown_message_is_not_found(store: Store):
    with pytest.raises(NotFound):
        await store.mark_sent("missing", at(0))
    with pytest.raises(NotFound):
        await store.mark_retry("missing", "error", at(10))


async def test_a_message_id_is_queued_once(store: Store):
    await store.queue_messages([message("m")])
    with pytest.raises(Conflict):
        await store.queue_messages([message("m", subject="replaced?")])
    [kept] = await store.list_outbox()
    assert kept.subject == "Subject m"


async def test_the_outbox_lists_newest_first_up_to_the_limit(store: Store):
    for i in range(5):
        await store.queue_messages([message(f"m{i}", created_at=at(i))])
    assert [m.id for m in await store.list_outbox()] == ["m4", "m3", "m2", "m1", "m0"]
    assert [m.id for m in await store.list_outbox(limit=2)] == ["m4", "m3"]


async def test_messages_queued_without_times_are_due_at_once(store: Store):
    await store.queue_messages([message("m")])
    [queued] = await store.list_outbox()
    assert queued.created_at is not None and queued.next_attempt_at == queued.created_at
    claimed = await store.claim_due_message(queued.created_at + timedelta(seconds=1), lease_seconds=5)
    assert claimed.id == "m"


async def test_two_senders_never_claim_the_same_message(store: Store, store_url: str):
    """Two store instances, as two sender processes would have, race for one due message."""
    await store.queue_messages([message("m", next_attempt_at=at(0))])
    other = open_store(store_url)
    try:
        results = await asyncio.gather(
            store.claim_due_message(at(1), lease_seconds=60),
            other.claim_due_message(at(1), lease_seconds=60),
        )
    finally:
        await other.close()
    assert sorted(r is None for r in results) == [False, True], results
    [winner] = [r for r in results if r is not None]
    assert (winner.id, winner.attempts) == ("m", 1)
    [stored] = await store.list_outbox()
    assert stored.attempts == 1, "the loser must not have counted an attempt"


async def test_concurrent_claims_share_out_the_due_messages(store: Store):
    await store.queue_messages([message(f"m{i}", next_attempt_at=at(i)) for i in range(3)])
    results = await asyncio.gather(*(store.claim_due_message(at(10), lease_seconds=60) for _ in range(4)))
    claimed = [r.id for r in results if r is not None]
    assert sorted(claimed) == ["m0", "m1", "m2"], "each due message goes to exactly one claim"
