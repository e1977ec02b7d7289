"""The processes: the Bolt app, the HTTP server, page-reading workers and the scheduler."""
