"""report stage: Markdown report and PNG figures of a verification."""
