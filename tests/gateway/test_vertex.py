"""Through the gateway to Vertex AI (a fake one, with a fake Google token endpoint): a streamed turn in
which Claude Code runs a tool, translated both ways, with Google's token and never the person's."""

from __future__ import annotations

import pytest

from tests.fake_model import say, use_tool
from tests.fake_vertex import FakeVertex
from tests.gateway.conftest import NotebookKernel
from tests.hub.conftest import ADMIN, Hub


@pytest.fixture(scope="module")
def vertex():
    fake = FakeVertex().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def vertex_hub(tmp_path_factory, vertex):
    folder = tmp_path_factory.mktemp("vertex")
    hub = Hub(folder, vertex.gateway_environment(folder))
    yield hub
    hub.stop()


def test_a_streamed_turn_with_a_tool_round_trips_through_vertex(vertex_hub, vertex):
    hub = vertex_hub
    admin = hub.token_for(hub.sign_in(ADMIN))
    email, token = hub.person_with_server(admin, "vera")
    vertex.script(use_tool("Bash", {"command": "echo tool-ran-$((6*7))"}), say("The tool said 42."))
    kernel = NotebookKernel(hub, token, email)
    try:
        cell = kernel.run("Run the tool")
        assert cell.status == "ok", cell.shown
        assert "The tool said 42." in cell.text
        calls = [call for call in vertex.vertex_calls if call["method"] == "streamRawPredict"]
        assert len(calls) >= 2, vertex.vertex_calls
        # the second request carries the tool's real output back to the model
        assert "tool-ran-42" in vertex.seen(-1)
        for call in calls:
            assert call["anthropic_version"] == "vertex-2023-10-16" and not call["has_model"]
            assert call["path"].startswith("/v1/projects/oma-test/locations/us-east5/publishers/anthropic/models/claude")
            assert call["headers"]["authorization"].startswith("Bearer ya29.fake-")
            assert "x-api-key" not in call["headers"]
        assert len(vertex.issued) == 1  # one Google token, reused
    finally:
        kernel.stop()
        hub.api(admin, "DELETE", f"/hub/api/users/{email}/server")
