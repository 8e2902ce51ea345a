"""How many SMS a text costs: GSM-7 (160 characters, 153 per part when split) or UCS-2 (70, 67).

GSM 03.38: the basic alphabet counts one septet per character, the extension table (^ { } [ ] ~
| \\ € and form feed) two, and an escape pair is never split across parts. Any other character
switches the whole message to UCS-2, where a character outside the BMP (an emoji) takes two
16-bit units. French text is mostly GSM-7 (é è à ù are in it) but ê, â, ô, ç and typographic
quotes are not: `to_gsm7` replaces them, and `fit` uses that version when it saves parts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)

GSM7, UCS2 = "GSM-7", "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
PART = {GSM7: 153, UCS2: 67}  # the rest of a part holds the concatenation header (UDH)

# French and typographic characters outside GSM-7, with their closest GSM-7 spelling.
_REPLACEMENTS = {
    "â": "a", "ê": "e", "ë": "e", "î": "i", "ï": "i", "ô": "o", "û": "u", "ÿ": "y", "ç": "c",
    "Â": "A", "À": "A", "Ê": "E", "È": "E", "Ë": "E", "Î": "I", "Ï": "I", "Ô": "O", "Û": "U", "Ù": "U",
    "œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‑": "-", "…": "...", "•": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    "°": "o", "\t": " ",
}
# Latin letters that Unicode does not decompose into a base letter and a mark (Ł is not L + accent).
_LATIN_LETTERS = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th", "Ħ": "H", "ħ": "h",
    "ı": "i", "Ŀ": "L", "ŀ": "l", "Ŋ": "N", "ŋ": "n", "ĸ": "k", "ſ": "s", "Ə": "E", "ə": "e", "ƒ": "f",
}


class SmsTooLong(ValueError):
    """The text needs more parts than allowed, even in its GSM-7 spelling."""

    def __init__(self, segments: int, limit: int, encoding: str):
        super().__init__(f"SMS trop long : {segments} SMS ({encoding}) pour un maximum de {limit}")
        self.segments = segments
        self.limit = limit
        self.encoding = encoding


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or 16-bit units (UCS-2)
    segments: int
    remaining: int  # units still free in the last part


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def _sizes(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in _EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count(text: str) -> SmsCount:
    """The encoding, length and number of parts of `text`."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    sizes = _sizes(text, encoding)
    units = sum(sizes)
    if units <= SINGLE[encoding]:
        return SmsCount(encoding, units, 1 if units else 0, SINGLE[encoding] - units)
    # Fill parts without splitting an escape pair or a surrogate pair.
    parts, used = 1, 0
    for size in sizes:
        if used + size > PART[encoding]:
            parts, used = parts + 1, 0
        used += size
    return SmsCount(encoding, units, parts, PART[encoding] - used)


def to_gsm7(text: str) -> str:
    """The closest GSM-7 spelling: French accents and typography replaced, other marks stripped.

    Characters with no GSM-7 equivalent (emoji, other scripts) are kept: the text stays UCS-2.
    """
    out = []
    for ch in text:
        if ch in _BASIC or ch in _EXTENSION:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and is_gsm7(base) else ch)
    return "".join(out)


def gsm7_name(name: str) -> str:
    """A person's name spelt in GSM-7 (Łukasz -> Lukasz, Zoë -> Zoe), or "" when it cannot be.

    A name in another script (王先生, Дмитрий) has no spelling we could vouch for: it is dropped
    rather than sent as UCS-2, which would cost the message more than twice as many parts.
    """
    spelt = to_gsm7("".join(_LATIN_LETTERS.get(ch, ch) for ch in " ".join((name or "").split())))
    return spelt if is_gsm7(spelt) else ""


def fit(text: str, max_segments: int) -> str:
    """`text`, or its GSM-7 spelling when that costs fewer parts; SmsTooLong when neither fits.

    Refusing rather than trimming: a cut SMS could lose the amount, the reference or the link.
    """
    text = text.strip()
    original = count(text)
    best, best_count = text, original
    if original.encoding == UCS2:
        plain = to_gsm7(text)
        plain_count = count(plain)
        if plain_count.segments < original.segments:
            best, best_count = plain, plain_count
    if best_count.segments > max_segments:
        raise SmsTooLong(best_count.segments, max_segments, best_count.encoding)
    return best
