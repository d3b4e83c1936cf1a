"""The command line: a thin layer over ``huggingtweets.api``; one module per command group."""
