"""SMTP benchmark: 10,000 reminder e-mails through the SMTP backend to a local aiosmtpd server.

    python -m bench.smtp_bench [--messages 10000] [--pdf-kb 60]

One process: the server runs in a thread of this process (aiosmtpd's Controller), so the figure
includes the server's own work. The messages are real reminders rendered from the shipped
templates (text + HTML, the EPC QR code inline, an invoice PDF attached), one SMTP connection for
the batch, as `relance send` does. Target: at least 200 messages/s.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from bench.common import measure

TARGET = 200


class Counter:
    """Accepts every message, keeps only counts (10,000 messages would otherwise fill the memory)."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        self.bytes += len(envelope.content)
        return f"250 2.0.0 Ok: queued as B{self.messages:06d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_messages(count: int, pdf_kb: int) -> list:
    from decimal import Decimal

    from relance.channels.base import Attachment, Outgoing
    from relance.channels.context import sample_context
    from relance.channels.email.channel import _inline_qr, new_message_id
    from relance.channels.qr_email import epc_qr_png_data_uri
    from relance.channels.templates import render_message

    pdf = b"%PDF-1.7\n" + os.urandom(pdf_kb * 1024)  # incompressible, like a real invoice PDF's streams
    documents = [Attachment("Facture.pdf", pdf)] if pdf_kb else []
    out = []
    variants = 50  # distinct amounts and names: the rendering and QR caches do not make it trivial
    for i in range(count):
        context = sample_context("fr")
        amount = Decimal(1000 + i % variants) + Decimal("0.45")
        context["invoices"][0]["balance"] = context["total_due"] = amount
        context["contact"]["name"] = f"Contact {i % variants}"
        context["reference"] = f"C{i % variants:04d} F2026-0042"
        context["epc_qr_png_data_uri"] = epc_qr_png_data_uri("ABC Consulting", context["iban"], context["bic"],
                                                             amount, context["reference"])
        msg = render_message("first_reminder", "fr", context)
        html, inline = _inline_qr(msg.html, context, "fr", "abc-consulting.fr")
        out.append(Outgoing(
            channel="email", recipient=f"Contact {i} <compta{i}@client{i % 997}.fr>", subject=msg.subject,
            body_text=msg.text, body_html=html, attachments=[*inline, *documents],
            headers={"Message-ID": new_message_id(i, "abc-consulting.fr"), "X-Relance-Reminder": str(i)},
            sender="ABC Consulting <compta@abc-consulting.fr>", reply_to="Bob Martin <bob@abc-consulting.fr>",
        ))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--pdf-kb", type=int, default=0,
                        help="attach an invoice PDF of this size (KB); 0: none, as when no document is stored")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    from aiosmtpd.controller import Controller

    from relance.channels.registry import get_backend

    with measure("render reminders (templates, QR, MIME parts)", rows=args.messages):
        messages = build_messages(args.messages, args.pdf_kb)

    handler = Counter()
    port = free_port()
    # Big messages are fine: the default 32 MiB data_size_limit holds a reminder with its PDFs.
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        backend = get_backend("email", f"smtp://127.0.0.1:{port}")
        label = f"send {args.messages:,} e-mails over one SMTP connection"
        with measure(label, rows=args.messages) as fig, backend:
            for message in messages:
                backend.send(message)
        rate = args.messages / fig.seconds
    finally:
        controller.stop()
    print(f"messages/s: {rate:,.0f} (target >= {TARGET})  received: {handler.messages:,}  "
          f"MB sent: {handler.bytes / 1e6:,.0f}")
    if handler.messages != args.messages:
        print(f"error: the server received {handler.messages} of {args.messages} messages", file=sys.stderr)
        return 1
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
