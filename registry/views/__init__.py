"""HTTP endpoints of the registry (API.md §4). Thin: validate, call one service or selector,
shape the reply."""
