"""Every template a shipped scenario can use exists in French and English and is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from relance.channels.context import sample_context
from relance.channels.templates import render_message, validate_template
from relance.dunning.defaults import SCENARIOS
from relance.dunning.rules import _TEMPLATE_BY_TONE, INSTALMENT_SCENARIO

MESSAGES = Path(__file__).resolve().parents[2] / "relance" / "channels" / "templates" / "messages"


def used_templates() -> set[tuple[str, str]]:
    used = {(channel, template) for _, steps in SCENARIOS.values() for _, _, _, channel, template, _, _ in steps}
    used |= {(s.channel, s.template) for s in INSTALMENT_SCENARIO.steps}
    used |= {(channel, t) for channel, by_tone in _TEMPLATE_BY_TONE.items() for t in by_tone.values()}
    # A task step writes no message; an escalation step names its kind (tests/dossier check its documents).
    return {(channel, template) for channel, template in used if channel not in ("task", "escalation")}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("channel", "template"), sorted(used_templates()))
def test_every_used_template_is_shipped_valid_and_renders(channel, template, language):
    files = sorted(p.name for p in (MESSAGES / language).glob(f"{template}-*"))
    assert f"{template}-body.txt" in files
    if channel == "email":
        assert f"{template}-subject.txt" in files
    for path in (MESSAGES / language).glob(f"{template}-*"):
        part = "html" if path.suffix == ".html" else "text"
        assert validate_template(path.read_text(), part=part, language=language) == [], path.name
    rendered = render_message(template, language, sample_context(language))
    assert rendered.text.strip()
    if channel == "email":
        assert rendered.subject.strip()
