"""Recovery costs beyond the fixed indemnity (French law). Pure.

- Businesses (Code de commerce L441-10 II): when the recovery costs incurred exceed the 40 EUR
  fixed indemnity, the creditor may claim a complementary indemnity on justification. Claimed:
  the costs incurred minus the fixed indemnity claimed, never below zero (the indemnity already
  pays for the first euros).
- Public bodies (Code de la commande publique, late payment: fixed indemnity of 40 EUR): the same
  rule, a complementary indemnity on justification beyond the fixed one.
- Consumers: nothing. Without an enforceable title the recovery costs stay with the creditor
  (Code des procédures civiles d'exécution L111-8); the costs are shown as evidence only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from relance.law.late_payment import BUSINESS, CONSUMER, KINDS, PUBLIC
from relance.lib.money import ZERO, cents

BASIS = {
    BUSINESS: "art. L441-10 II du Code de commerce : indemnisation complémentaire sur justification des frais "
              "de recouvrement exposés au-delà de l'indemnité forfaitaire",
    PUBLIC: "commande publique : indemnisation complémentaire sur justification des frais de recouvrement "
            "exposés au-delà de l'indemnité forfaitaire, comme à l'art. L441-10 II du Code de commerce",
    CONSUMER: "débiteur consommateur : les frais de recouvrement exposés sans titre exécutoire restent à la "
              "charge du créancier (art. L111-8 du Code des procédures civiles d'exécution)",
}


@dataclass(frozen=True)
class RecoveryCosts:
    incurred: Decimal  # the costs recorded (justified)
    indemnity: Decimal  # the fixed indemnity claimed, which already covers that much of them
    claimed: Decimal  # the complementary costs claimed on top of the indemnity
    basis: str


def recovery_costs(customer_kind: str, incurred: Decimal, indemnity: Decimal) -> RecoveryCosts:
    """The complementary recovery costs that may be claimed: max(0, incurred − indemnity), none
    from a consumer."""
    if customer_kind not in KINDS:
        raise ValueError(f"customer_kind must be one of {', '.join(KINDS)}, got {customer_kind!r}")
    if incurred < 0 or indemnity < 0:
        raise ValueError(f"costs and indemnity must be >= 0, got {incurred!r} and {indemnity!r}")
    incurred, indemnity = cents(incurred), cents(indemnity)
    claimed = ZERO if customer_kind == CONSUMER else max(incurred - indemnity, ZERO)
    return RecoveryCosts(incurred=incurred, indemnity=indemnity, claimed=cents(claimed), basis=BASIS[customer_kind])
