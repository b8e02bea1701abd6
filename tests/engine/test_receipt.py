"""Receipts name the code that ran: the git sha from the checkout, or from the image's build."""

from bioeval.engine import receipt


def test_git_sha_from_checkout_and_from_container_env(monkeypatch):
    sha = receipt.git_sha()
    assert sha is None or len(sha.removesuffix("-dirty")) == 40
    monkeypatch.setenv("BIOEVAL_GIT_SHA", "f" * 40)
    assert receipt.git_sha() == "f" * 40
