"""bioeval: re-run and check published biomedical LLM results from declarative manifests."""

__version__ = "0.1.0"
