"""Call tasks: a person calls the customer with a script, then records what came out of it."""
