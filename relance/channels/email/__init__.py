"""The e-mail channel: multipart text + HTML messages with the invoices and a statement attached."""
