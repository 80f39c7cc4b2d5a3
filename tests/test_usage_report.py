"""The kernel reports each session's usage to the agents service (a real HTTP server here)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.fake_model import say, use_tool
from tests.polling import wait_for


class Recorder(BaseHTTPRequestHandler):
    reports: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.reports.append((self.path, {"auth": self.headers["Authorization"], **body}))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def service(monkeypatch):
    Recorder.reports = []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OMA_AGENTS_SERVICE_URL", f"http://127.0.0.1:{server.server_port}/services/agents/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")
    yield Recorder.reports
    server.shutdown()


def test_each_turn_reports_the_sessions_totals_and_new_closes_it(service, monkeypatch, start_kernel, model, agent_dir, settings_file):
    monkeypatch.setenv("JPY_SESSION_NAME", "weekly.ipynb")
    settings_file.write_text(json.dumps({"id": "agent-123", "name": "Analyst"}))
    kernel = start_kernel()
    model.script(say("one", input_tokens=10, output_tokens=3), say("two", input_tokens=20, output_tokens=4))
    kernel.run("First")
    kernel.run("Second")
    wait_for(lambda: len(service) >= 2)
    path, last = service[-1]
    assert path == "/services/agents/api/sessions"
    assert last["auth"] == "token server-token"
    assert (last["agent_id"], last["notebook"], last["turns"], last["input_tokens"], last["output_tokens"], last["status"]) == (
        "agent-123", "weekly.ipynb", 2, 30, 7, "active")
    assert last["cost_usd"] > 0 and last["session_id"]
    kernel.run("%new")
    wait_for(lambda: service[-1][1]["status"] == "closed")
    assert service[-1][1]["session_id"] == last["session_id"]


def test_usage_goes_under_the_dashboards_id_whatever_the_agent_puts_in_its_folder(service, start_kernel, model,
                                                                                 agent_dir, settings_file, tmp_path):
    settings_file.write_text(json.dumps({"id": "agent-123", "allowed_tools": ["Bash"]}))
    sibling = tmp_path / "sibling.json"
    sibling.write_text(json.dumps({"id": "sibling-456"}))
    kernel = start_kernel()
    model.script(use_tool("Bash", {"command": f"ln -s {sibling} agent.json"}), say("Linked."), say("Hello."))
    kernel.run("Link a sibling's settings")
    kernel.run("%new\nHello")
    wait_for(lambda: len({r["session_id"] for _, r in service}) >= 2)
    assert (agent_dir / "agent.json").is_symlink()
    assert {report["agent_id"] for _, report in service} == {"agent-123"}


def test_agents_made_by_hand_report_nothing(service, kernel, model, agent_dir):
    kernel.run("Hello")
    time.sleep(1)
    assert service == []
