"""`peershelf demo`: a scripted week against the project's own fake Slack, and the tools it is made of."""
