"""The evidence dossier of a customer (`relance dossier`) and the claim it states: what a court, a
commissaire de justice or a collection agency is given (relance.channels.escalation uses the same)."""
