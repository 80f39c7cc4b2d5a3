"""The gallery's tests: notebooks and recipes to share. The service's and the user server's fixtures
(tests/service/conftest.py, tests/server/conftest.py) are imported by the modules that use them, not
here: pytest-jupyter's would take over the event loop of the browser journey too."""

from __future__ import annotations

from typing import Any

import pytest


AGENT = {"name": "Weekly analyst", "instructions": "Summarise the week in three bullet points.",
         "model": "claude-sonnet-4-5", "allowed_tools": ["Read", "WebSearch"], "disallowed_tools": ["Bash"],
         "permission_mode": "default", "max_turns": 5}


def notebook(*cells: dict[str, Any], kernel: str = "claude-weekly-analyst") -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": 5, "cells": list(cells),
            "metadata": {"kernelspec": {"name": kernel, "display_name": "Claude · Weekly analyst", "language": "markdown"}}}


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code(source: str, *outputs: dict[str, Any]) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "source": source, "execution_count": 1, "outputs": list(outputs)}


def text_output(text: str) -> dict[str, Any]:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": text}}


def html_output(html: str) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": html, "text/plain": "<HTML>"}}


def a_recipe(**fields: Any) -> dict[str, Any]:
    """A publish request: a three-cell recipe with its agent."""
    return {"title": "Weekly competitor report", "description": "Prices and launches of the week.",
            "tags": ["marketing", "weekly"], "outputs": "kept", "agent": AGENT,
            "notebook": notebook(markdown("# Weekly report\nWhat changed this week."),
                                 code("Summarise competitor prices.", text_output("Prices went up 3%.")),
                                 code("Write three bullet points.")),
            **fields}


@pytest.fixture
def approve_on(admin, person):
    """``await approve_on(service, "ada")``: approve someone on a service started by the test itself."""

    async def approved(service, name: str):
        someone = person(name)
        applied = await service.call("POST", "api/beta/applications", token=someone.token,
                                     json={"name": name, "purpose": "Agents for my work"})
        assert applied.status_code == 201, applied.text
        decided = await service.call("POST", "api/beta/decisions", token=admin.token,
                                     json={"emails": [someone.email], "decision": "approve"})
        assert decided.status_code == 200, decided.text
        return someone

    return approved
