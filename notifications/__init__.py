"""Proactive messages: the outbox, its dispatcher and the templates people receive."""
