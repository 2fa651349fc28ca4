"""Market data: recording normalized market events and replaying them."""
