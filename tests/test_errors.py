"""Errors cross process boundaries (Slurm tasks, containers): they must pickle with their context."""

import pickle

from bioeval import errors


def test_errors_pickle_with_their_context():
    cases = [
        errors.UsageError("bad option", "use --only model=K"),
        errors.ManifestError([errors.Problem("m.yaml", 3, 5, "models[0].revision", "not a commit")], "fix it"),
        errors.ChecksumMismatch("a.json", "0" * 64, "1" * 64),
        errors.EnvironmentProblem("no GPU", "see plan"),
        errors.VerificationFailed("2 values outside tolerance"),
    ]
    for exc in cases:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc) and back.exit_code == exc.exit_code
    assert pickle.loads(pickle.dumps(cases[1])).problems[0].line == 3
    assert pickle.loads(pickle.dumps(cases[2])).actual == "1" * 64


def test_exit_codes():
    assert errors.VerificationFailed("x").exit_code == 1
    assert errors.ManifestError([]).exit_code == errors.UsageError("x").exit_code == 2
    assert errors.DataError("x").exit_code == errors.EnvironmentProblem("x").exit_code == 3
