"""Letters: A4 PDFs for a French window envelope, formal notices, registered mail and print batches."""
