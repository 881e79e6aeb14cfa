"""Core: configuration, storage, identifiers, errors, principals, events, geography."""
