"""deskbot's platform-free core: messages, engine, conversations, tickets and the CLI."""
