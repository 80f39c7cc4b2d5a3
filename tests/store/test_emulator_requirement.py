"""Where the Firestore emulator cannot run, its tests are skipped with the reason, or fail when it is required."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.conftest import NOT_INSTALLED, firestore_emulator_missing, require_firestore_emulator


@pytest.fixture
def no_gcloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH on which no gcloud is found."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def gcloud_without_the_emulator(folder: Path) -> Path:
    """A Google Cloud CLI folder whose gcloud exists but which has no Firestore emulator component."""
    gcloud = folder / "google-cloud-sdk" / "bin" / "gcloud"
    gcloud.parent.mkdir(parents=True)
    gcloud.write_text("#!/bin/sh\nexit 1\n")
    gcloud.chmod(0o755)
    return gcloud.parent


def test_without_gcloud_the_firestore_tests_are_skipped_saying_what_is_missing(no_gcloud, monkeypatch):
    monkeypatch.delenv("OMA_REQUIRE_FIRESTORE", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_firestore_emulator()
    assert skipped.value.msg == (
        "the Firestore emulator (Google Cloud CLI's `gcloud emulators firestore`) is not installed")


def test_without_gcloud_the_firestore_tests_fail_when_the_emulator_is_required(no_gcloud, monkeypatch):
    monkeypatch.setenv("OMA_REQUIRE_FIRESTORE", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_firestore_emulator()
    assert failed.value.msg.startswith(NOT_INSTALLED + ": no gcloud on PATH")
    assert "OMA_REQUIRE_FIRESTORE=1 requires it" in failed.value.msg


@pytest.mark.parametrize("required", ["", "0"])
def test_only_the_value_1_requires_the_emulator(no_gcloud, monkeypatch, required):
    monkeypatch.setenv("OMA_REQUIRE_FIRESTORE", required)
    with pytest.raises(pytest.skip.Exception):
        require_firestore_emulator()


def test_gcloud_without_the_emulator_component_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(gcloud_without_the_emulator(tmp_path)))
    missing = firestore_emulator_missing()
    assert missing.startswith(NOT_INSTALLED + ": gcloud at ")
    assert "cloud-firestore-emulator" in missing
