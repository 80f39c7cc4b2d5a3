"""The platform's one contract: what an agent, its settings file, a session report and a
beta application are, with their enums and limits, as pydantic models.

Every component may import it (the store, the agents service, the e-mail hook,
the user-server extension, the Claude kernel) and it imports none of them: only
pydantic (and Babel, in ``catalogs``). What components on different sides of a
layer share lives here too: ``folder_files`` (the user server and the kernel
both write in agent folders), ``catalogs`` (the pages' and e-mails' words),
``environment`` (how a setting reads its variable), ``scopes``. The
service validates requests with these models and publishes their JSON Schemas
in its OpenAPI document; the user server writes an agent's settings file with
``AgentSettingsFile`` and the kernel reads it with the same model.
"""

from .agent import (
    AGENT_DIR_ENV,
    AGENT_LIMITS,
    DEFAULT_MODELS,
    INSTRUCTIONS_FILE,
    OLD_SETTINGS_FILE,
    SETTINGS_ENV,
    Agent,
    AgentChanges,
    AgentCreate,
    AgentOptions,
    AgentReplace,
    AgentSettingsFile,
    AgentStatus,
    HeadlessPolicy,
    PermissionMode,
    Usage,
    instructions_text,
)
from .beta import (
    BETA_LIMITS,
    BetaApplication,
    BetaApplicationForm,
    BetaDecision,
    BetaDecisionForm,
    BetaStatus,
    Email,
    Language,
    Person,
    Verdict,
)
from .outbox import MessageStatus, OutboxMessage
from . import folder_files
from .problems import Contract, FieldInvalid
from .session import Session, SessionReport, SessionStatus

__all__ = [
    "AGENT_DIR_ENV", "AGENT_LIMITS", "BETA_LIMITS", "DEFAULT_MODELS", "INSTRUCTIONS_FILE", "OLD_SETTINGS_FILE",
    "SETTINGS_ENV",
    "Agent", "AgentChanges", "AgentCreate", "AgentOptions", "AgentReplace", "AgentSettingsFile", "AgentStatus",
    "BetaApplication", "BetaApplicationForm", "BetaDecision", "BetaDecisionForm", "BetaStatus", "Contract",
    "Email", "FieldInvalid", "HeadlessPolicy", "Language", "MessageStatus", "OutboxMessage", "PermissionMode",
    "Person", "Session", "SessionReport", "SessionStatus", "Usage", "Verdict", "folder_files", "instructions_text",
]
