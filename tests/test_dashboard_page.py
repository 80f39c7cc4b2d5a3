"""The dashboard page as rendered for what the service answered: cards, confirmations, statuses."""

from __future__ import annotations

import jinja2
import pytest

from agents_extension.server.app import HERE
from agents_extension.server.dashboard_page import agent_for_form, render_dashboard

TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)


def agent(**fields) -> dict:
    return {"id": "a1", "slug": "writer", "name": "Writer", "status": "active", "version": 1, "allowed_tools": [],
            "disallowed_tools": [], "usage": {"sessions": 2, "turns": 3, "input_tokens": 1200, "output_tokens": 34,
                                                "cost_usd": 0.00112, "last_used_at": None}, **fields}


def page(agents, language="en", **query) -> str:
    return render_dashboard(TEMPLATES, language=language, agents=agents, models=["claude-sonnet-4-5"],
                            saved=query.get("saved"), deleted=query.get("deleted"), base_url="/user/a/",
                            xsrf_token="x", hub_home="/hub/home")


def test_a_card_shows_its_figures_with_the_one_money_formatter():
    html = page([agent()])
    assert '<b>$0.0011</b><span>cost</span>' in html and '<b>1,234</b><span>tokens</span>' in html
    assert 'data-cost-usd="0.00112"' in html


@pytest.mark.parametrize(("status", "said"), [
    ("active", "Saved. Writer is ready: open a notebook with it here"),
    ("paused", "Saved. Writer is paused: its notebooks will not take new questions"),
    ("draft", "Saved. Writer is ready"),
])
def test_the_saved_agents_card_confirms_what_its_status_means(status, said):
    html = page([agent(status=status)], saved="a1")
    card = html[html.index('id="agent-a1"'):]
    assert said in card[:card.index("</article>")]


def test_a_deleted_agent_is_confirmed_at_the_top_and_a_name_is_not_markup():
    html = page([], deleted="<b>Old</b>")
    assert "&lt;b&gt;Old&lt;/b&gt; was deleted. Its folder moved to agents/.trash" in html


def test_a_draft_is_shown_and_edited_as_ready_since_it_behaves_so():
    shown = agent_for_form(agent(status="draft", allowed_tools=["Bash", "Bash(ls:*)"]))
    assert shown["status"] == "active" and shown["choices"]["run"] == "allow"
    assert shown["other_allowed"] == ["Bash(ls:*)"]
    assert '<span class="badge active" data-status="active">Ready</span>' in page([agent(status="draft")])


def test_when_the_service_does_not_answer_the_page_says_so_in_the_persons_language():
    assert "the agents service did not answer" in page(None)
    assert "에이전트 서비스가 응답하지 않았습니다" in page(None, "ko")
    assert 'id="empty"' not in page(None)
