"""The PostgreSQL backend of the project (`ENGINE: "chatproject.postgres"`): Django's own, with
a circuit breaker that fails fast and recovers fast on a database blip (see `breaker`)."""
