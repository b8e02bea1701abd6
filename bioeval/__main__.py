from bioeval.cli import run

run()
