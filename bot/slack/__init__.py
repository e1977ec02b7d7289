"""Talking to Slack: Web API clients, Block Kit built in one place, and messages."""
