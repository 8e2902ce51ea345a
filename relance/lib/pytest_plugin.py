"""Loaded by pytest with `-p` (pyproject.toml) before Django's settings are read: a test run
keeps its data dir (secret key, outbox, media) in a temporary folder, never in ./var/."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("RELANCE_DATA_DIR", tempfile.mkdtemp(prefix="relance-test-"))
