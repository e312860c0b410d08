"""The ``/ws`` client (heartbeat, reconnect, resubscribe) and the raw-frame recorder."""
