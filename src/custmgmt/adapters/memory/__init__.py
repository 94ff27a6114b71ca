"""Dict-backed adapters: storage with real transactions, a recording notifier."""
