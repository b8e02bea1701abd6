"""Orchestration the CLI and the runtimes share: fetch a cell's inputs, run cells on a runtime,
reproduce a manifest step by step.  The click layer only parses options and prints."""
