"""The kernel's settings come from their environment variables as every component's do
(oma_contract.environment: a trait tagged with its variable, the default written once), and a
value the kernel cannot take never keeps a kernel from starting: it is logged, naming the variable."""

from __future__ import annotations

import logging

import pytest

from claude_kernel.kernel import ClaudeKernel


def bare_kernel() -> ClaudeKernel:
    return ClaudeKernel.__new__(ClaudeKernel)  # its traits, nothing started


@pytest.mark.parametrize(("trait", "raw", "value"), [
    ("stall_timeout", "30", 30.0),
    ("tool_timeout", "1.5", 1.5),
    ("api_retry_limit", "5", 5),
    ("park_after", "0", 0.0),
    ("show_month_spend", "", True),
    ("show_month_spend", "0", False),
    ("show_month_spend", "false", False),
    ("show_month_spend", "1", True),
    ("sandbox", "landlock", "landlock"),
    ("network", "off", "off"),
    ("network_allow", "10.0.0.5:3128, mirror.internal:443", ["10.0.0.5:3128", "mirror.internal:443"]),
    ("state_dir", "~/kernel-state", None),
])
def test_each_setting_reads_the_variable_it_is_tagged_with(monkeypatch, trait, raw, value):
    variable = ClaudeKernel.class_traits()[trait].metadata["env"]
    assert variable.startswith("CLAUDE_KERNEL_")
    monkeypatch.setenv(variable, raw)
    monkeypatch.setenv("HOME", "/home/someone")
    got = getattr(bare_kernel(), trait)
    assert got == (value if trait != "state_dir" else "/home/someone/kernel-state")


def test_unset_variables_give_the_documented_defaults(monkeypatch):
    for trait in ClaudeKernel.class_own_traits(config=True).values():
        if "env" in trait.metadata:
            monkeypatch.delenv(trait.metadata["env"], raising=False)
    kernel = bare_kernel()
    assert (kernel.stall_timeout, kernel.tool_timeout, kernel.api_retry_limit, kernel.park_after) == (120, 900, 2, 600)
    assert (kernel.sandbox, kernel.network, kernel.network_allow, kernel.show_month_spend) == ("auto", "proxy", [], True)
    assert kernel.state_dir.endswith("/claude_kernel")


@pytest.mark.parametrize(("trait", "raw", "default"), [
    ("stall_timeout", "soon", 120.0), ("api_retry_limit", "2.5", 2), ("show_month_spend", "off", True)])
def test_a_value_the_kernel_cannot_take_is_logged_by_name_and_the_default_used(monkeypatch, caplog, trait, raw, default):
    variable = ClaudeKernel.class_traits()[trait].metadata["env"]
    monkeypatch.setenv(variable, raw)
    with caplog.at_level(logging.WARNING):
        assert getattr(bare_kernel(), trait) == default
    assert f"{variable} cannot be {raw!r}" in caplog.text, caplog.text


def test_config_still_wins_over_the_variable(monkeypatch):
    from traitlets.config import Config

    monkeypatch.setenv("CLAUDE_KERNEL_STALL_TIMEOUT", "30")
    config = Config()
    config.ClaudeKernel.stall_timeout = 45.0
    kernel = ClaudeKernel.__new__(ClaudeKernel)
    kernel.config = config  # what Configurable.__init__ does with config=
    assert kernel.stall_timeout == 45.0
