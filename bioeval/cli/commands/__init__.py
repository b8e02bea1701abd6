"""One module per command (a hidden helper command lives beside the command it serves)."""
