from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from relance.accounts.models import Organisation


@pytest.mark.django_db
def test_it_accepts_valid_french_identifiers():
    org = Organisation(slug="abc", legal_name="ABC", siren="732 829 320", siret="73282932000074",
                       vat_number="FR44732829320", iban="FR14 2004 1010 0505 0001 3M02 606", bic="PSSTFRPPPAR")
    org.full_clean()
    org.save()
    assert org.siren == "732829320"
    assert org.iban == "FR1420041010050500013M02606"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("siren", "732829321"), ("siret", "73282932000075"), ("vat_number", "FR00732829320"),
     ("iban", "FR1420041010050500013M02607"), ("bic", "PSST")],
)
def test_it_rejects_an_invalid_identifier(field, value):
    org = Organisation(slug="abc", legal_name="ABC", **{field: value})
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert field in exc.value.message_dict
