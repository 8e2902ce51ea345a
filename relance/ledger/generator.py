"""A synthetic receivables ledger: French customers, their invoices and payments, from a seed.

Pure Python, no ORM. Everything is deterministic for a given (seed, today, sizes) and streamed:
invoices are produced one at a time in date order, so a million of them need no more memory
than a compact table of the customers (`relance generate`, the demo, tests and benchmarks).

Contact details cannot reach anyone real: e-mail domains end in the reserved `.example` TLD
(RFC 2606) and landlines are in the ranges ARCEP keeps for fiction (e.g. 04 65 71 xx xx).
"""

from __future__ import annotations

import bisect
import csv
import unicodedata
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random

from stdnum import luhn

CUSTOMERS_HEADER = [
    "Code client", "Raison sociale", "SIREN", "Type", "E-mail", "Téléphone", "Adresse", "Code postal", "Ville",
    "Pays", "Langue", "Stratégique", "Contact", "Civilité", "Procédure collective", "Date du jugement",
    "Type de procédure",
]
INVOICES_HEADER = [
    "Numéro de facture", "Code client", "Raison sociale", "Date de facture", "Date d'échéance", "Montant HT", "TVA",
    "Montant TTC", "Devise", "Déjà payé",
]
PAYMENTS_HEADER = ["Date", "Montant", "Code client", "Facture", "Référence", "Mode"]
KIND_LABELS = {"business": "entreprise", "consumer": "particulier", "public": "public"}

# Payment behaviours and their share of customers (the insolvent one is picked apart).
BEHAVIOURS = [("good", 0.46), ("average", 0.28), ("late", 0.12), ("disputer", 0.06), ("partial", 0.08)]
INSOLVENT = "insolvent"
STRATEGIC_SHARE = 0.05
_GOLDEN = 0.6180339887498949


def _words(text: str) -> list[str]:
    """A vocabulary list written as one string: items separated by "|", or by spaces when there is none."""
    return text.split("|") if "|" in text else text.split()


# --- French vocabulary ------------------------------------------------------------------------------
_SURNAMES = _words(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre Leroy Roux "
    "David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Lefèvre Faure "
    "André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément "
    "Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Lemaire Noël Meyer Dufour "
    "Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Gérard Roche Renard "
    "Schmitt Roy Colin Vidal Caron Picard Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Bourgeois Benoît "
    "Rey Leclerc Rolland Guillaume Lecomte Dupuy Guillot Hubert Berger Carpentier Dupuis Moulin Deschamps Huet "
    "Vasseur Boucher Fleury Royer Klein Jacquet Poirier Marty Guyot Carré Renault Charpentier Ménard Maillard "
    "Baron Bertin Bailly Hervé Schneider Collet Léger Bouvier Prévost Millet Perrot Cousin Germain Breton "
    "Besson Langlois Pelletier Lévêque Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger "
    "Monnier Michaud Guichard Gillet Chauvin Bouchet Lemaître Humbert Reynaud Perret Cordier Pichon Lejeune"
)
_FIRST_NAMES = _words(
    "Marie Nathalie Isabelle Sylvie Catherine Sophie Julie Camille Léa Emma Chloé Manon Inès Sarah Claire "
    "Anne Céline Aurélie Jean Pierre Michel Philippe Alain Nicolas Christophe Patrick Julien Thomas Antoine "
    "Maxime Hugo Lucas Louis Nathan Théo Paul Olivier Stéphane Laurent Frédéric Sébastien Mathieu Éric Yann"
)
# The list above starts with the women's names: the civility of a contact person follows.
_WOMEN = frozenset(_FIRST_NAMES[:_FIRST_NAMES.index("Jean")])
CONTACT_SHARE = 0.85  # customers whose file names the person to write to
JUDGMENT_DAYS_AGO = 30  # the insolvent customer's court case: redressement judiciaire a month ago
_FORMS = _words("SAS SAS SAS SARL SARL SARL SA SASU EURL SNC SCOP")
_TRADES = _words(
    "Transports|Menuiserie|Boulangerie|Imprimerie|Garage|Cabinet|Plomberie|Électricité|Maçonnerie|Librairie|"
    "Hôtel|Laboratoire|Agence|Atelier|Clinique|Fromagerie|Brasserie|Distribution|Ambulances|Charpente|"
    "Couverture|Nettoyage|Sécurité|Informatique|Groupe|Établissements|Pharmacie|Carrosserie|Paysages|Optique"
)
_PLACES = _words(
    "du Rhône|des Alpes|de l'Ouest|du Centre|de Provence|du Lyonnais|Rhône-Alpes|Atlantique|Méditerranée|"
    "du Nord|de Bretagne|de la Loire|du Val de Saône|des Monts d'Or|du Beaujolais|de Savoie|du Dauphiné"
)
_BRAND_HEADS = _words("Axe Nova Cap Euro Inter Alti Opti Prism Vert Lumi Atlas Orion Sigma Kali Neo Terra Hexa Stra")
_BRAND_TAILS = _words("lis tec com via tis gie nov data sys log med pro ia ance ys éa ium net")
_PUBLIC = _words(
    "Commune de {c}|Centre hospitalier de {c}|Université de {c}|CCAS de {c}|Office de tourisme de {c}|"
    "Syndicat intercommunal des eaux de {c}|Lycée Jean Moulin de {c}|Communauté de communes de {c}"
)
_STREETS = _words(
    "rue de la République|avenue Jean Jaurès|boulevard Victor Hugo|rue Pasteur|place Bellecour|rue Garibaldi|"
    "rue du Général de Gaulle|avenue Foch|rue Nationale|chemin des Vignes|rue des Lilas|allée des Tilleuls|"
    "rue de la Gare|quai Saint-Antoine|cours Lafayette|rue Paul Bert|rue de l'Industrie|route de Lyon|"
    "impasse des Artisans|avenue de la Libération|rue Émile Zola|rue Voltaire|rue Jean Moulin|ZA des Bruyères"
)
# (city, postcode, landline zone, weight): the Lyon area counts more (ABC Consulting is in Lyon).
_CITIES = [
    (name, pc, int(zone), int(w)) for name, pc, zone, w in (item.split(":") for item in _words(
        "Lyon:69002:4:12|Lyon:69003:4:10|Lyon:69007:4:8|Villeurbanne:69100:4:8|Vénissieux:69200:4:3|"
        "Écully:69130:4:2|Bron:69500:4:2|Villefranche-sur-Saône:69400:4:3|Saint-Étienne:42000:4:4|"
        "Grenoble:38000:4:4|Chambéry:73000:4:2|Annecy:74000:4:3|Valence:26000:4:2|Bourg-en-Bresse:01000:4:2|"
        "Clermont-Ferrand:63000:4:3|Marseille:13008:4:3|Nice:06000:4:2|Montpellier:34000:4:2|"
        "Avignon:84000:4:1|Paris:75008:1:6|Paris:75011:1:4|Paris:75015:1:3|Boulogne-Billancourt:92100:1:2|"
        "Nanterre:92000:1:1|Montreuil:93100:1:1|Versailles:78000:1:1|Lille:59000:3:2|Strasbourg:67000:3:2|"
        "Dijon:21000:3:2|Metz:57000:3:1|Reims:51100:3:1|Nancy:54000:3:1|Besançon:25000:3:1|Nantes:44000:2:2|"
        "Rennes:35000:2:2|Angers:49000:2:1|Tours:37000:2:1|Rouen:76000:2:1|Caen:14000:2:1|Brest:29200:2:1|"
        "Bordeaux:33000:5:2|Toulouse:31000:5:2|Limoges:87000:5:1|Poitiers:86000:5:1|La Rochelle:17000:5:1"
    ))
]
_CITY_CUM = [sum(c[3] for c in _CITIES[: i + 1]) for i in range(len(_CITIES))]
# ARCEP numbers reserved for fiction, by zone (01..05).
_FICTION = {1: "99 00", 2: "61 91", 3: "53 01", 4: "65 71", 5: "36 49"}
# (country, city, postcode, phone pattern (# = a digit), language, company forms); London's numbers are
# Ofcom's drama range.
_FOREIGN = [
    ("BE", "Bruxelles", "1000", "+32 2 5## ## ##", "fr", ("SA", "SRL")),
    ("BE", "Liège", "4000", "+32 4 2## ## ##", "fr", ("SRL",)),
    ("CH", "Genève", "1201", "+41 22 ### ## ##", "fr", ("SA", "Sàrl")),
    ("LU", "Luxembourg", "1150", "+352 26 ## ## ##", "fr", ("SA",)),
    ("DE", "Berlin", "10115", "+49 30 ########", "en", ("GmbH",)),
    ("GB", "London", "EC1A 1BB", "+44 20 7946 0###", "en", ("Ltd",)),
    ("IT", "Milano", "20121", "+39 02 #### ####", "en", ("S.r.l.",)),
    ("ES", "Barcelona", "08001", "+34 93 ### ## ##", "en", ("S.L.",)),
]
_MAILBOXES = _words("orange free laposte gmail sfr wanadoo")
_BUSINESS_MAILBOXES = _words("compta comptabilite facturation factures fournisseurs contact")
_PUBLIC_MAILBOXES = _words("mandatement service.financier comptabilite")
_TERMS = {"business": [("30", 50), ("45fm", 20), ("60", 15), ("15", 10), ("0", 5)],
          "consumer": [("0", 60), ("15", 40)], "public": [("30", 100)]}
_METHODS = {"business": [("virement", 70), ("prélèvement", 15), ("chèque", 10), ("carte", 5)],
            "consumer": [("carte", 50), ("virement", 30), ("chèque", 20)], "public": [("virement", 100)]}
_METHOD_PREFIX = {"virement": "VIR SEPA", "prélèvement": "PRLV SEPA", "chèque": "REMISE CHQ", "carte": "CB"}
_DAY_RATES = [450, 550, 650, 750, 850, 950, 1100, 1250]
_DAYS = [(0.5, 5), (1, 10), (1.5, 3), (2, 10), (3, 8), (4, 5), (5, 6), (8, 3), (10, 3), (15, 2), (20, 1)]
_CONSUMER_PRICES = [49, 79, 99, 129, 190, 250, 390, 490, 690]
_FEES = [90, 120, 150, 240, 350]


@dataclass(slots=True)
class CustomerRow:
    code: str
    name: str
    siren: str
    kind: str  # business | consumer | public (relance.ledger.models.CustomerKind)
    email: str
    phone: str
    address: str
    postcode: str
    city: str
    country: str
    language: str
    strategic: bool
    behaviour: str  # good | average | late | disputer | partial | insolvent (not exported)
    terms: str  # payment terms: "30", "45fm", "60", "15", "0" (days; fm = end of month)
    contact_name: str = ""  # the person to write to ("Madame Marie Durand")
    contact_civility: str = ""  # "M." | "Mme" (relance.ledger.models.Civility)
    insolvency_date: date | None = None  # judgment opening insolvency proceedings (the insolvent customer)
    insolvency_kind: str = ""  # "redressement" (relance.ledger.models.InsolvencyKind)


# Not frozen: a frozen dataclass costs 1.5 µs more per row, 3 s on a million invoices.
@dataclass(slots=True)
class InvoiceRow:
    number: str
    customer_code: str
    customer_name: str
    issue_date: date
    due_date: date
    amount_excl_tax: Decimal
    tax: Decimal
    total: Decimal
    currency: str
    dispute: str  # "" | "open" (unpaid, contested) | "resolved" (contested, then paid)


@dataclass(slots=True)
class PaymentRow:
    date: date
    amount: Decimal
    customer_code: str
    invoice_number: str
    reference: str
    method: str  # virement | prélèvement | chèque | carte


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).split())


class _Weighted:
    """A weighted choice prepared once (random.choices rebuilds its tables on every call)."""

    def __init__(self, pairs: list[tuple]) -> None:
        self.values = [p[0] for p in pairs]
        self.cum = [sum(p[1] for p in pairs[: i + 1]) for i in range(len(pairs))]

    def pick(self, rng: Random):
        return self.values[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


_TERMS_PICK = {kind: _Weighted(pairs) for kind, pairs in _TERMS.items()}
_METHODS_PICK = {kind: _Weighted(pairs) for kind, pairs in _METHODS.items()}
_DAYS_PICK = _Weighted(_DAYS)


# randint() and choice() cost 0.5 µs each through _randbelow(); these two are what the
# invoice loop uses instead (one random() call, bias far below what a fake ledger cares about).
def _between(rng: Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _one_of(rng: Random, items: list):
    return items[int(rng.random() * len(items))]


def _mobile(rng: Random) -> str:
    # Metropolitan mobile blocks only: 0639 and 069x belong to the overseas departments.
    head = rng.choice(["6", "7"])
    block = rng.randint(10, 89) if head == "6" else rng.randint(50, 99)
    block = 38 if block == 39 and head == "6" else block
    return f"+33 {head} {block} " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(3))


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


class LedgerGenerator:
    """Customers, then invoices with their payments, for `months` months ending `today`."""

    def __init__(self, *, seed: int, customers: int, invoices: int, today: date, months: int = 18) -> None:
        if customers < 1:
            raise ValueError("il faut au moins un client / at least one customer")
        if invoices < 0 or not 1 <= months <= 120:
            raise ValueError("nombre de factures ou de mois invalide / bad invoice or month count")
        self.seed, self.n_customers, self.n_invoices = seed, customers, invoices
        self.today, self.months = today, months
        self.start = add_months(today, -months)
        # The insolvent customer stopped paying six months ago (its court case comes later).
        self.stopped_paying = today - timedelta(days=180)
        self.insolvent_index = Random(f"{seed}:insolvent").randrange(customers)
        # Compact per-customer table used by the invoice stream: (code, name, behaviour, terms, kind,
        # method, day rate, charges VAT) and cumulative weights (who gets invoiced how often).
        self._table: list[tuple] = []
        self._cum = array("d")

    # --- customers --------------------------------------------------------------------------
    def customers(self) -> Iterator[CustomerRow]:
        """Every customer, in code order (C000001, C000002, ...)."""
        rng = Random(f"{self.seed}:customers")
        # Contact persons come from a stream of their own, so that the rest is as it always was.
        people = Random(f"{self.seed}:contacts")
        offset = Random(f"{self.seed}:profiles").random()
        build = not self._table
        total = 0.0
        for i in range(self.n_customers):
            row, weight, rate, method = self._customer(rng, i, offset)
            self._add_contact(people, row)
            if build:
                total += weight
                vat = row.country == "FR"  # B2B services to a customer abroad: no French VAT (CGI art. 259-1)
                self._table.append((row.code, row.name, row.behaviour, row.terms, row.kind, method, rate, vat))
                self._cum.append(total)
            yield row

    def _add_contact(self, people: Random, row: CustomerRow) -> None:
        """The person to write to (a consumer is their own contact), and the insolvent one's court case."""
        if row.behaviour == INSOLVENT:
            row.insolvency_date = self.today - timedelta(days=JUDGMENT_DAYS_AGO)
            row.insolvency_kind = "redressement"
        if people.random() >= CONTACT_SHARE:
            return
        if row.kind == "consumer":
            first = row.name.split(" ", 1)[0]
            row.contact_name = row.name
        else:
            first = people.choice(_FIRST_NAMES)
            row.contact_name = f"{first} {people.choice(_SURNAMES)}"
        row.contact_civility = "Mme" if first in _WOMEN else "M."

    def _behaviour(self, i: int, offset: float) -> str:
        if i == self.insolvent_index:
            return INSOLVENT
        # A low-discrepancy sequence gives the exact shares even for a few dozen customers.
        u = ((i + 1) * _GOLDEN + offset) % 1.0
        for name, share in BEHAVIOURS:
            if u < share:
                return name
            u -= share
        return BEHAVIOURS[0][0]

    def _customer(self, rng: Random, i: int, offset: float) -> tuple[CustomerRow, float, int, str]:
        """One customer, plus what only the invoice stream needs: weight, day rate, payment method."""
        behaviour = self._behaviour(i, offset)
        r = rng.random()
        kind = "consumer" if r < 0.18 else "public" if r < 0.22 else "business"
        foreign = kind == "business" and rng.random() < 0.02
        if behaviour == INSOLVENT:
            kind, foreign = "business", False
        # Strategic accounts are businesses or public bodies: 5 % of all customers.
        strategic = kind != "consumer" and behaviour != INSOLVENT and rng.random() < STRATEGIC_SHARE / 0.82
        weight = rng.lognormvariate(0.0, 0.9) * {"consumer": 0.3, "public": 1.5, "business": 1.0}[kind]
        weight *= 4.0 if strategic else 2.5 if behaviour == INSOLVENT else 1.0
        city, postcode, zone, _ = _CITIES[bisect.bisect(_CITY_CUM, rng.random() * _CITY_CUM[-1])]
        country, language, phone_pattern = "FR", "fr", ""
        surname = rng.choice(_SURNAMES)
        if kind == "consumer":
            first = rng.choice(_FIRST_NAMES)
            name = f"{first} {surname}"
            number = rng.randint(1, 99) if rng.random() < 0.5 else ""
            local = f"{slugify(first)}.{slugify(surname)}{number}".replace("-", ".")
            email = f"{local}@{rng.choice(_MAILBOXES)}.example"
        else:
            if foreign:
                country, city, postcode, phone_pattern, language, forms = rng.choice(_FOREIGN)
                name = f"{rng.choice(_BRAND_HEADS)}{rng.choice(_BRAND_TAILS)} {rng.choice(forms)}"
            elif kind == "public":
                name = rng.choice(_PUBLIC).format(c=city)
            else:
                name = self._company_name(rng, surname)
            local = rng.choice(_PUBLIC_MAILBOXES if kind == "public" else _BUSINESS_MAILBOXES)
            email = f"{local}@{slugify(name)}.example"
        if rng.random() < 0.03:
            email = ""  # no address on file: someone has to find one
        if foreign:
            phone = "".join(str(rng.randint(0, 9)) if ch == "#" else ch for ch in phone_pattern)
        elif kind == "consumer" or rng.random() < 0.25:
            phone = _mobile(rng)
        else:
            phone = f"0{zone} {_FICTION[zone]} {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"
        address = f"{rng.randint(1, 150)} {rng.choice(_STREETS)}"
        if name.startswith("Commune de"):
            address = "Hôtel de ville, place de la Mairie"
        terms = rng.choice(["45fm", "60"]) if strategic else _TERMS_PICK[kind].pick(rng)
        method = _METHODS_PICK[kind].pick(rng)
        row = CustomerRow(
            code=f"C{i + 1:06d}", name=name, siren=self._siren(i, kind, foreign), kind=kind, email=email,
            phone=phone, address=address, postcode=postcode, city=city, country=country, language=language,
            strategic=strategic, behaviour=behaviour, terms=terms,
        )
        return row, weight, rng.choice(_DAY_RATES), method

    @staticmethod
    def _company_name(rng: Random, surname: str) -> str:
        pattern = rng.random()
        if pattern < 0.3:
            return f"{surname} {rng.choice(_FORMS)}"
        if pattern < 0.55:
            return f"{rng.choice(_TRADES)} {surname}"
        if pattern < 0.7:
            return f"{rng.choice(_TRADES)} {rng.choice(_PLACES)}"
        if pattern < 0.9:
            return f"{rng.choice(_BRAND_HEADS)}{rng.choice(_BRAND_TAILS)} {rng.choice(_FORMS)}"
        return f"{surname} {rng.choice(['& Fils', 'et Associés', '& Cie'])}"

    def _siren(self, i: int, kind: str, foreign: bool) -> str:
        if kind == "consumer" or foreign:
            return ""
        # An affine bijection of the index keeps SIRENs unique without remembering them.
        body = (i * 7_919_933 + self.seed * 104_729 + 1_234_567) % 10_000_000
        head = "2" if kind == "public" else "3456789"[i % 7]
        digits = f"{head}{body:07d}"
        return digits + luhn.calc_check_digit(digits)

    # --- invoices and payments ----------------------------------------------------------------
    def invoices(self) -> Iterator[tuple[InvoiceRow, tuple[PaymentRow, ...]]]:
        """Every invoice in issue-date order, with the payments made on it up to today."""
        if len(self._table) != self.n_customers:
            self._table.clear()
            self._cum = array("d")
            for _ in self.customers():
                pass
        rng = Random(f"{self.seed}:invoices")
        # Invoices go out on working days, spread evenly, in date order.
        days = [self.start + timedelta(days=n) for n in range((self.today - self.start).days + 1)]
        days = [d for d in days if d.weekday() < 5] or days
        # Local names: this loop runs a million times in the benchmark.
        rand, cum, table, settle, amount = rng.random, self._cum, self._table, self._settle, self._amount
        total_weight, last, per_day = cum[-1], self.n_customers - 1, len(days) / max(self.n_invoices, 1)
        due_dates: dict[tuple[date, str], date] = {}  # a few thousand (day, terms) pairs
        seq_year, seq = 0, 0
        for k in range(self.n_invoices):
            issue = days[int((k + rand()) * per_day)]
            if issue.year != seq_year:
                seq_year, seq = issue.year, 0
            seq += 1
            code, name, behaviour, terms, kind, method, rate, vat = table[min(bisect.bisect(cum, rand() * total_weight),
                                                                              last)]
            net = amount(rng, kind, rate)
            tax = (net * 20 + 50) // 100 if vat else 0  # 20 %, half up to the cent
            due = due_dates.get((issue, terms))
            if due is None:
                due = due_dates[issue, terms] = _due_date(issue, terms)
            number = f"F{seq_year}-{seq:06d}"
            events, dispute = settle(rng, behaviour, issue, due, net + tax)
            invoice = InvoiceRow(number, code, name, issue, due, _cents(net), _cents(tax), _cents(net + tax), "EUR",
                                 dispute)
            count = len(events)
            payments = tuple(
                PaymentRow(day, _cents(paid), code, number, _reference(method, name, number, n, count), method)
                for n, (day, paid) in enumerate(events, start=1)
            )
            yield invoice, payments

    @staticmethod
    def _amount(rng: Random, kind: str, rate: int) -> int:
        """Amount excluding tax, in cents."""
        if kind == "consumer":
            return _one_of(rng, _CONSUMER_PRICES) * 100
        if rng.random() < 0.12:
            return _one_of(rng, _FEES) * 100  # small one-off fees: the small-amount scenario
        net = int(rate * _DAYS_PICK.pick(rng) * 100)
        if rng.random() < 0.15:
            net += _between(rng, 1_500, 25_000)  # travel expenses re-invoiced: odd cents
        return net

    def _settle(self, rng: Random, behaviour: str, issue: date, due: date, total: int) -> tuple[list, str]:
        """Payments (date, cents) on one invoice up to today, and its dispute state."""
        r = rng.random()
        if behaviour == "good":
            delay = 0 if r < 0.3 else _between(rng, -12, -1) if r < 0.92 else _between(rng, 1, 5)
            return self._paid([(due + timedelta(days=delay), total)], issue), ""
        if behaviour == "late":
            if r < 0.08:
                return [], ""  # never paid: the old debts of the aged balance
            return self._paid([(due + timedelta(days=_between(rng, 30, 90)), total)], issue), ""
        if behaviour == "disputer" and r < 0.25:
            # Settled 45 to 150 days late once the dispute is resolved; still open if that is not yet.
            paid = self._paid([(due + timedelta(days=_between(rng, 45, 150)), total)], issue)
            return paid, "resolved" if paid else "open"
        if behaviour == "partial" and r < 0.5:
            first = total * _between(rng, 30, 70) // 100
            return self._paid([
                (due + timedelta(days=_between(rng, 0, 20)), first),
                (due + timedelta(days=_between(rng, 35, 100)), total - first),
            ], issue), ""
        if behaviour == INSOLVENT:
            if issue >= self.stopped_paying:
                return [], ""  # frozen by the collective procedure
            return self._paid([(due + timedelta(days=_between(rng, 20, 60)), total)], issue), ""
        # average payers, and the ordinary invoices of disputers and partial payers
        if rng.random() < 0.03:
            return [], ""  # forgotten
        return self._paid([(due + timedelta(days=int(rng.triangular(1, 25, 6))), total)], issue), ""

    def _paid(self, events: list[tuple[date, int]], issue: date) -> list[tuple[date, int]]:
        out = []
        for day, amount in events:
            day = max(day, issue)
            if day.weekday() >= 5:  # banks credit on working days
                day += timedelta(days=7 - day.weekday())
            if day > self.today or amount <= 0:
                break
            out.append((day, amount))
        return out


def _due_date(issue: date, terms: str) -> date:
    if terms == "45fm":  # 45 days end of month (LME): the end of the month of issue + 45 days
        later = issue + timedelta(days=45)
        return add_months(later.replace(day=1), 1) - timedelta(days=1)
    return issue + timedelta(days=int(terms))


def _reference(method: str, name: str, number: str, n: int, count: int) -> str:
    suffix = "" if count == 1 else f" {n}/{count}"
    if method == "virement":
        return f"{_METHOD_PREFIX[method]} {name.upper()[:24]} FACT {number}{suffix}"
    return f"{_METHOD_PREFIX[method]} {number}{suffix}"


# --- CSV --------------------------------------------------------------------------------------------
_DATE_CACHE: dict[date, str] = {}


def fr_date(day: date) -> str:
    text = _DATE_CACHE.get(day)
    if text is None:
        text = _DATE_CACHE[day] = day.strftime("%d/%m/%Y")
    return text


def fr_amount(value: Decimal) -> str:
    return str(value).replace(".", ",")


@dataclass
class WrittenFiles:
    customers: int
    invoices: int
    payments: int
    paths: dict[str, Path]


def write_ledger_csv(
    gen: LedgerGenerator, out_dir: Path, progress: Callable[[str, int], None] | None = None, every: int = 10_000
) -> WrittenFiles:
    """Write customers.csv, invoices.csv and payments.csv (UTF-8, `;`, French formats) into out_dir.

    `progress(kind, rows_done)` is called every `every` rows and at the end of each file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / f"{k}.csv" for k in ("customers", "invoices", "payments")}
    n_customers = n_invoices = n_payments = 0
    with open(paths["customers"], "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(CUSTOMERS_HEADER)
        for c in gen.customers():
            w.writerow([
                c.code, c.name, c.siren, KIND_LABELS[c.kind], c.email, c.phone, c.address, c.postcode, c.city,
                c.country, c.language, "oui" if c.strategic else "non", c.contact_name, c.contact_civility,
                "oui" if c.insolvency_date else "", fr_date(c.insolvency_date) if c.insolvency_date else "",
                c.insolvency_kind,
            ])
            n_customers += 1
            if progress and n_customers % every == 0:
                progress("customers", n_customers)
    if progress:
        progress("customers", n_customers)
    with (
        open(paths["invoices"], "w", encoding="utf-8", newline="") as fi,
        open(paths["payments"], "w", encoding="utf-8", newline="") as fp,
    ):
        wi, wp = csv.writer(fi, delimiter=";"), csv.writer(fp, delimiter=";")
        wi.writerow(INVOICES_HEADER)
        wp.writerow(PAYMENTS_HEADER)
        for inv, payments in gen.invoices():
            wi.writerow([
                inv.number, inv.customer_code, inv.customer_name, fr_date(inv.issue_date), fr_date(inv.due_date),
                fr_amount(inv.amount_excl_tax), fr_amount(inv.tax), fr_amount(inv.total), inv.currency, "",
            ])
            for p in payments:
                wp.writerow([fr_date(p.date), fr_amount(p.amount), p.customer_code, p.invoice_number, p.reference,
                             p.method])
            n_invoices += 1
            n_payments += len(payments)
            if progress and n_invoices % every == 0:
                progress("invoices", n_invoices)
    if progress:
        progress("invoices", n_invoices)
    return WrittenFiles(n_customers, n_invoices, n_payments, paths)
