"""Write CAMT.053/054 documents of any version (tests, the benchmark): streaming, any size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TextIO
from xml.sax.saxutils import escape


@dataclass
class Entry:
    amount: Decimal
    booked: date
    credit: bool = True
    currency: str = "EUR"
    ref: str = ""  # AcctSvcrRef
    remittance: str = ""
    creditor_ref: str = ""  # structured (RF...)
    payer: str = ""
    payer_iban: str = ""
    reversal: bool = False
    end_to_end: str = ""


def write_camt(out: TextIO, entries: Iterable[Entry], *, version: int = 8, message: str = "053",
               account: str = "FR1420041010050500013M02606", statement_id: str = "STMT-1") -> int:
    """Write one document with one statement (053) or notification (054); returns the entries written."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.{message}.001.{version:02d}"
    root, block = ("BkToCstmrStmt", "Stmt") if message == "053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    # v8 and later wrap the status in a code and the party's name in Pty.
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><{root}>'
              f"<GrpHdr><MsgId>{escape(statement_id)}</MsgId><CreDtTm>2026-01-31T20:00:00</CreDtTm></GrpHdr>"
              f"<{block}><Id>{escape(statement_id)}</Id><CreDtTm>2026-01-31T20:00:00</CreDtTm>"
              f"<Acct><Id><IBAN>{account}</IBAN></Id></Acct>\n")
    n = 0
    for e in entries:
        n += 1
        parts = [f'<Ntry><Amt Ccy="{e.currency}">{e.amount}</Amt><CdtDbtInd>{"CRDT" if e.credit else "DBIT"}'
                 "</CdtDbtInd>"]
        if e.reversal:
            parts.append("<RvslInd>true</RvslInd>")
        parts.append(f"{status}<BookgDt><Dt>{e.booked.isoformat()}</Dt></BookgDt>"
                     f"<ValDt><Dt>{e.booked.isoformat()}</Dt></ValDt>")
        if e.ref:
            parts.append(f"<AcctSvcrRef>{escape(e.ref)}</AcctSvcrRef>")
        parts.append("<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
                     "<NtryDtls><TxDtls>")
        if e.end_to_end:
            parts.append(f"<Refs><EndToEndId>{escape(e.end_to_end)}</EndToEndId></Refs>")
        if e.payer or e.payer_iban:
            name = f"<Nm>{escape(e.payer)}</Nm>"
            parts.append(f"<RltdPties><Dbtr>{f'<Pty>{name}</Pty>' if version >= 8 else name}</Dbtr>")
            if e.payer_iban:
                parts.append(f"<DbtrAcct><Id><IBAN>{e.payer_iban}</IBAN></Id></DbtrAcct>")
            parts.append("</RltdPties>")
        if e.remittance or e.creditor_ref:
            parts.append("<RmtInf>")
            if e.remittance:
                parts.append(f"<Ustrd>{escape(e.remittance)}</Ustrd>")
            if e.creditor_ref:
                parts.append(f"<Strd><CdtrRefInf><Ref>{escape(e.creditor_ref)}</Ref></CdtrRefInf></Strd>")
            parts.append("</RmtInf>")
        parts.append("</TxDtls></NtryDtls></Ntry>\n")
        out.write("".join(parts))
    out.write(f"</{block}></{root}></Document>\n")
    return n
