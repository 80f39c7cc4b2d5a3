# The platform's JupyterHub configuration (hub_config/), for the handler-level tests: the same
# roles, scopes and beta group, but the agents service is external (each test runs its own, in
# the test process) and a test-only service makes the people and their tokens.
import os

from hub_config.platform import SERVICE_NAME, configure

c = get_config()  # noqa: F821 (get_config is provided by JupyterHub)
configure(c)

agents = c.JupyterHub.services[0]
assert agents["name"] == SERVICE_NAME
del agents["command"], agents["environment"]
# The service the tests start authenticates to the hub with this token, as the hub-managed one
# does with the token the hub makes for it.
agents["api_token"] = os.environ["OMA_TEST_SERVICE_TOKEN"]
agents["url"] = os.environ["OMA_TEST_SERVICE_URL"]  # nothing listens there: tests call their service directly

# Makes the people a test needs and their personal tokens, as sign-in and the token page would.
c.JupyterHub.services.append({"name": "test-people", "api_token": os.environ["OMA_TEST_PEOPLE_TOKEN"]})
c.JupyterHub.load_roles.append({
    "name": "test-people",
    "services": ["test-people"],
    "scopes": ["admin:users", "tokens", "read:groups"],
})
