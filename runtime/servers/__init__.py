"""What the ASGI servers need of this project beyond ASGI, kept in one place: daphne's close
codes (`daphne_compat`), daphne's body, head and frame limits (`daphne_limits`), and uvicorn's
protocol classes (`uvicorn_protocols`). `runtime.apps` installs the daphne patches; `serve`
hands uvicorn its protocol classes."""
