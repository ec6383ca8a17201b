"""Local storage of the gateway: the embedded SQLite ledger and the event log."""
