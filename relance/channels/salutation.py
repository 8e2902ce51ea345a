"""How a message addresses its reader: one function for every template and channel.

French business letters open "Madame Martin," or "Madame, Monsieur," (never "Bonjour <company>,"); French
e-mails open "Bonjour Madame Martin," or "Bonjour,"; English ones "Dear Ms Martin," / "Dear Sir or Madam,".
The person is the customer's contact (Customer.contact_name, Customer.contact_civility "M." / "Mme" / "");
without a civility we do not guess one from the name.

Source strings are English; the French ones come from the catalogue (relance/locale/fr).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import pgettext

MR, MRS = "M.", "Mme"


def salutation(civility: str, name: str, language: str, *, letter: bool = False, recipient: str = "") -> str:
    """The opening line: "Madame Martin," on a letter, "Bonjour Madame Martin," in an e-mail.

    An e-mail or SMS without a known civility greets its recipient by name ("Bonjour Marie Dupont,")
    when the contact it goes to has one; a letter never does (no civility, "Madame, Monsieur,").
    """
    name = surname(name)
    recipient = " ".join((recipient or "").split())
    with translation.override(language):
        if letter:
            if civility == MRS:
                return pgettext("letter", "Dear Ms %(name)s,") % {"name": name} if name else pgettext(
                    "letter", "Dear Madam,")
            if civility == MR:
                return pgettext("letter", "Dear Mr %(name)s,") % {"name": name} if name else pgettext(
                    "letter", "Dear Sir,")
            return pgettext("letter", "Dear Sir or Madam,")
        if civility == MRS:
            return pgettext("message", "Dear Ms %(name)s,") % {"name": name} if name else pgettext(
                "message", "Dear Madam,")
        if civility == MR:
            return pgettext("message", "Dear Mr %(name)s,") % {"name": name} if name else pgettext(
                "message", "Dear Sir,")
        if recipient:
            return pgettext("message", "Hello %(name)s,") % {"name": recipient}
        return pgettext("message", "Hello,")


def surname(name: str) -> str:
    """The family name of a contact's full name, as a civility goes with it ("Madame Martin", not
    "Madame Marie Martin"): "Marie Martin" -> "Martin", "Jean-Pierre de La Tour" -> "de La Tour",
    "MARTIN Marie" (the surname first, in capitals, as in many registers) -> "Martin"."""
    words = (name or "").split()
    if len(words) < 2:
        return " ".join(words)
    capitals = []
    for word in words:
        if not (word.isupper() and len(word.strip(".-'")) > 1):
            break
        capitals.append(word)
    if capitals and len(capitals) < len(words):
        return " ".join("-".join(part.capitalize() for part in w.split("-")) for w in capitals)
    return " ".join(words[1:])


def addressee(civility: str, language: str) -> str:
    """The form of address of a closing formula ("Veuillez agréer, Madame, …")."""
    with translation.override(language):
        if civility == MRS:
            return pgettext("addressee", "Madam")
        if civility == MR:
            return pgettext("addressee", "Sir")
        return pgettext("addressee", "Sir or Madam")
