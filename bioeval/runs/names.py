"""The file names of a run folder: spelled here only (tests/test_run_file_names.py checks)."""

SPEC = "spec.json"
STATUS = "status.json"
RECEIPT = "receipt.json"
SCORES = "scores.json"
PREDICTIONS = "predictions.jsonl"
LOG = "log.txt"
TEST_SUBSAMPLE = "test_subsample.json"
CHECKPOINTS = "checkpoints"
LOCK = ".lock"

ALL = (SPEC, STATUS, RECEIPT, SCORES, PREDICTIONS, LOG, TEST_SUBSAMPLE, CHECKPOINTS, LOCK)
