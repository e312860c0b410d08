"""REST: the HTTP client with the IP weight budget, ``/info`` and ``/exchange`` endpoints, one error type."""
