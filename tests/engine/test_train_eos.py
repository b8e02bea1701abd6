"""training.append_eos: the lab's code appends no EOS (and masks pad = eos); the kit may."""

from bioeval.data.instances import Instance
from tests.engine.conftest import SMOKE


def protocol(append_eos: bool):
    from bioeval.manifest import load_manifest

    base = load_manifest(SMOKE).manifest.protocol
    training = base.training.model_copy(update={"append_eos": base.training.append_eos.model_copy(
        update={"value": append_eos})})
    return base.model_copy(update={"training": training})


def test_append_eos_follows_the_protocol(tiny):
    from bioeval.engine.train import tokenize_train

    _, tok = tiny
    inst = [Instance("train-0", "Classify.", "a sentence", "related")]
    with_eos = tokenize_train(inst, tok, protocol(True))[0]
    without = tokenize_train(inst, tok, protocol(False))[0]
    assert with_eos.ids[-1] == tok.eos_token_id and with_eos.labels[-1] == tok.eos_token_id
    assert without.ids == with_eos.ids[:-1] and tok.eos_token_id not in without.ids
