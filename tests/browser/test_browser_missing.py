"""Without a browser the browser tests skip on a developer's machine and fail in CI (CI=true)."""

from __future__ import annotations

import pytest

from tests.browser import conftest


def test_a_missing_browser_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        conftest._unavailable("no chromium")


def test_a_missing_browser_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        conftest._unavailable("no chromium")


def test_the_chromium_named_by_relance_chromium_comes_first(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("RELANCE_CHROMIUM", str(fake))
    assert conftest.chromium_path() == str(fake)
