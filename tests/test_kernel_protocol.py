"""Jupyter protocol conformance of the Claude kernel (jupyter_kernel_test)."""

from __future__ import annotations

import os
import tempfile
import unittest.mock

import jupyter_kernel_test

from tests.fake_model import FakeModel


class ClaudeKernelConformance(jupyter_kernel_test.KernelTests):
    kernel_name = "claude"
    language_name = "markdown"
    file_extension = ".md"
    code_display_data = [{"code": "Say hello", "mime": "text/markdown"}]
    code_generate_error = "%no-such-magic"

    @classmethod
    def setUpClass(cls) -> None:
        cls.model = FakeModel().start()
        cls.home = tempfile.TemporaryDirectory()
        cls.env = unittest.mock.patch.dict(os.environ, {
            **cls.model.client_environment(),
            "CLAUDE_CONFIG_DIR": os.path.join(cls.home.name, "config"),
            "CLAUDE_AGENT_DIR": cls.home.name,
            "CLAUDE_KERNEL_STATE_DIR": os.path.join(cls.home.name, "state"),
        })
        cls.env.start()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        cls.env.stop()
        cls.model.stop()
        cls.home.cleanup()
