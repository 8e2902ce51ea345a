"""GSM-7 / UCS-2 segment counting and the segment cap."""

from __future__ import annotations

import pytest

from relance.channels.sms.segments import GSM7, UCS2, SmsTooLong, count, fit, to_gsm7


def test_a_gsm7_text_holds_160_characters_in_one_sms_then_153_per_part():
    assert count("a" * 160).segments == 1
    assert count("a" * 161).segments == 2
    assert count("a" * 306).segments == 2
    assert count("a" * 307).segments == 3
    assert count("a" * 160).encoding == GSM7


def test_french_accents_of_the_gsm7_alphabet_keep_the_text_in_gsm7():
    assert count("Réglé à Noël, où ça ? Ça coûte").encoding == UCS2  # û is not GSM-7
    assert count("Réglé à l'échéance, où ? Ça va").encoding == GSM7


def test_extension_characters_count_two_septets():
    assert count("€" * 80).units == 160
    assert count("€" * 80).segments == 1
    assert count("€" * 81).segments == 2
    assert count("{[]}").units == 8


def test_an_escape_pair_is_never_split_between_two_parts():
    # 152 septets then a 2-septet euro: the euro cannot end the first 153-septet part.
    text = "a" * 152 + "€" + "a" * 10
    info = count(text)
    assert info.units == 164
    assert info.segments == 2
    assert info.remaining == 153 - 12


def test_a_ucs2_text_holds_70_characters_then_67_per_part():
    assert count("ê" * 70).segments == 1
    assert count("ê" * 71).segments == 2
    assert count("ê" * 134).segments == 2
    assert count("ê" * 135).segments == 3
    assert count("ê" * 70).encoding == UCS2


def test_an_emoji_takes_two_ucs2_units():
    assert count("🙂" * 35).units == 70
    assert count("🙂" * 35).segments == 1
    assert count("🙂" * 36).segments == 2


def test_it_spells_french_typography_in_gsm7():
    assert to_gsm7("Vous êtes prié d’envoyer « 1 500,00 € » — n° F1… ç") == (
        "Vous etes prié d'envoyer \" 1 500,00 € \" - no F1... c"
    )
    assert to_gsm7("日本") == "日本"


def test_fit_keeps_the_text_when_it_already_fits():
    text = "Bonjour, votre facture F1 est échue : êtes-vous disponible ?"
    assert fit(text, 1) == text


def test_fit_uses_the_gsm7_spelling_when_it_saves_parts():
    text = "ê" + "a" * 100  # 101 UCS-2 units = 2 parts, 101 septets once spelled in GSM-7 = 1 part
    assert fit(text, 3) == "e" + "a" * 100
    assert count(fit(text, 1)).segments == 1


def test_fit_refuses_a_text_over_the_cap_rather_than_cutting_it():
    with pytest.raises(SmsTooLong, match="4 SMS") as info:
        fit("a" * 500, 3)
    assert info.value.segments == 4
    assert info.value.limit == 3
    with pytest.raises(SmsTooLong):
        fit("日" * 300, 3)
