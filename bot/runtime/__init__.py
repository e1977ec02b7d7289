"""The processes: the Bolt app, the HTTP server, background workers, the scheduler and the CLI."""
