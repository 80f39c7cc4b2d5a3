"""How a setting of the platform comes from its environment variable.

Every setting of the hub, the agents service, the e-mail sender, the user
server extension, the Claude kernel and the model gateway is a traitlets trait with help text, tagged with the
environment variable it reads (``.tag(env="OMA_...")``); its ``@default``
method returns ``from_environment(self, "<trait>", <the default>)``. So the
default is written once (in that method), a value set in traitlets config
still wins over the variable, and the README's settings tables can be
generated from the traits (scripts/settings-tables).

This module imports nothing of the platform: every component may use it.
"""

from __future__ import annotations

import os
from typing import Any, Mapping


class SettingInvalid(ValueError):
    """An environment variable holds a value its setting cannot take."""


def env_name(owner: Any, trait: str) -> str:
    """The environment variable a trait of `owner` (a class or an instance) reads."""
    return owner.class_traits()[trait].metadata["env"]


def from_environment(owner: Any, trait: str, default: Any, environ: Mapping[str, str] | None = None) -> Any:
    """The value of `owner`'s trait from its environment variable, else `default`.

    The variable's text is converted as traitlets converts a command-line value
    (``trait.from_string``), except for lists, which are separated by commas. An
    empty or unset variable means the default; one the trait cannot take raises
    SettingInvalid naming the variable, so a misconfigured platform says which
    setting to fix when it starts.
    """
    descriptor = owner.class_traits()[trait]
    name = descriptor.metadata["env"]
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        if hasattr(descriptor, "from_string_list"):  # a List, Set or Tuple: "a, b" as on a command line "a" "b"
            value = descriptor.from_string_list([item.strip() for item in raw.split(",") if item.strip()])
        else:
            value = descriptor.from_string(raw)
        if not isinstance(owner, type):
            value = descriptor.validate(owner, value)
    except Exception as error:
        raise SettingInvalid(f"{name} cannot be {raw!r}: {error}") from None
    return value


def documented_default(cls: type, trait: str, variable: str | None = None) -> Any:
    """What `cls`'s trait defaults to where its environment variable is unset (for help and the README).

    Computed by the trait's own ``@default`` method, on an instance made without
    ``__init__`` (so nothing is opened or started) and with the variable (its
    ``env`` tag, or `variable`) hidden.
    """
    name = variable or cls.class_traits()[trait].metadata.get("env")
    saved = os.environ.pop(name, None) if name else None
    try:
        bare = cls.__new__(cls)  # traitlets sets up its trait values in __new__
        return bare.trait_defaults(trait)
    finally:
        if saved is not None:
            os.environ[name] = saved


class DocumentedEnvironment:
    """Mixin for a Configurable whose traits read environment variables: ``--help-all``
    shows each one's variable and its real default (traitlets shows a dynamic
    default as the trait type's empty value)."""

    @classmethod
    def class_get_trait_help(cls, trait, inst=None, helptext=None):
        text = super().class_get_trait_help(trait, inst, helptext)
        name = trait.metadata.get("env")
        if not name:
            return text
        lines = [line for line in text.split("\n") if not line.strip().startswith("Default:")]
        lines.append(f"    Default: {documented_default(cls, trait.name)!r}")
        lines.append(f"    Environment variable: {name}")
        return "\n".join(lines)
