"""The person's server with the agents extension and the real agents service (tests/server/conftest.py)."""

from tests.server.conftest import *  # noqa: F401,F403 (fixtures)
