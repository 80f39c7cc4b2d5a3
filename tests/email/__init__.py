"""Tests of email_hook: the beta e-mail templates and the outbox sender against a real SMTP server."""
