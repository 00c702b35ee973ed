"""`make bench`: the delivery benchmark of the chat backend (see `bench.run` and the README's
Performance section)."""
