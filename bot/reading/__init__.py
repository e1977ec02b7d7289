"""Reading shared pages: links in messages, the safe fetcher, page metadata, kinds and topics."""
