"""Personal-data governance: catalogue, purposes, policies, the one door, the ledger."""
