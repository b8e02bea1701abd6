"""Make the smoke datasets: four small synthetic tasks (EE, RE, NER, TC) in the lab's JSON format.

Seeded and deterministic: running it again writes byte-identical files.  Each answer is a
learnable function of the input (trigger words -> labels; entity words -> tag ids), so a
LoRA adapter on the tiny model can beat the trivial baselines by a wide margin.  Instructions
mimic the lab's wording (PROTOCOL.md 1.2), shortened so prompts stay short on CPU.

    python assets/make_smoke_data.py            # writes assets/smoke-data/*.json
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "smoke-data"
SIZES = {"train": 480, "validation": 48, "test": 96}
SEED = 20260101

FILLER = ("the patient was given after study cells showed in treatment with a dose of "
          "during trial we observed that this report describes results from").split()

EE_TYPES = {"Phosphorylation": ["phosphorylates", "phosphorylation"], "Binding": ["binds", "complex"],
            "Gene_expression": ["expressed", "expression"], "Regulation": ["regulates", "controls"]}
RE_TYPES = {"advise": ["avoid", "recommended"], "effect": ["increases", "potentiates"],
            "int": ["interacts", "interaction"], "mechanism": ["metabolism", "clearance"],
            "NA": ["and", "or"]}
TC_TYPES = {"related": ["rash", "toxicity", "hepatitis"], "not-related": ["improved", "recovered", "stable"]}
NER_MAP = {"O": 0, "B-Chemical": 1, "B-Disease": 2, "I-Disease": 3, "I-Chemical": 4}
CHEMICALS = [["lithium"], ["aspirin"], ["warfarin"], ["lithium", "carbonate"], ["sodium", "valproate"]]
DISEASES = [["fever"], ["nausea"], ["heart", "failure"], ["renal", "injury"], ["atrial", "flutter"]]

# one-line instructions in the lab's wording: the lab's full ones (label sets, tag maps) would
# triple the prompt length, and with it the smoke run's CPU time
EE_INSTRUCTION = "Please do an event extraction task."
RE_INSTRUCTION = "Please do a relation extraction task."
TC_INSTRUCTION = "Please do a classification task: ADE-related or not."
NER_INSTRUCTION = "Please do a Named entity recognition task."


def fillers(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(n)]


def ee(rng: random.Random) -> dict:
    types = rng.sample(list(EE_TYPES), rng.choice([1, 1, 2]))
    words = fillers(rng, rng.randint(3, 5))
    for t in types:
        words.insert(rng.randint(0, len(words)), rng.choice(EE_TYPES[t]))
    order = [t for w in words for t in types if w in EE_TYPES[t]]  # response in order of mention
    return {"instruction": EE_INSTRUCTION, "inputsentence": " ".join(words) + " .",
            "response": ", ".join(dict.fromkeys(order))}


def re_(rng: random.Random) -> dict:
    label = rng.choice(list(RE_TYPES))
    words = fillers(rng, rng.randint(3, 5))
    words.insert(rng.randint(0, len(words)), f"ddrug0 {rng.choice(RE_TYPES[label])} ddrug1")
    return {"instruction": RE_INSTRUCTION, "inputsentence": " ".join(words) + " .", "response": label}


def tc(rng: random.Random) -> dict:
    label = rng.choice(list(TC_TYPES))
    words = fillers(rng, rng.randint(3, 6))
    words.insert(rng.randint(0, len(words)), rng.choice(TC_TYPES[label]))
    return {"instruction": TC_INSTRUCTION, "inputsentence": " ".join(words) + " .", "response": label}


def ner(rng: random.Random) -> dict:
    tokens: list[str] = []
    tags: list[int] = []
    # most sentences mention one entity type only, so the set of tags varies from sentence to
    # sentence and no constant answer scores well under the set-F1 scorer
    kinds = rng.choice([["chem"], ["dis"], ["chem"], ["dis"], ["chem", "dis"]])
    pieces = [rng.choice(kinds) for _ in range(rng.randint(1, 2))] + ["fill"] * rng.randint(0, 1)
    rng.shuffle(pieces)
    for kind in pieces:
        if kind == "fill":
            words = fillers(rng, rng.randint(1, 2))
            tokens += words
            tags += [NER_MAP["O"]] * len(words)
        else:
            words = rng.choice(CHEMICALS if kind == "chem" else DISEASES)
            label = "Chemical" if kind == "chem" else "Disease"
            tokens += words
            tags += [NER_MAP[f"B-{label}"]] + [NER_MAP[f"I-{label}"]] * (len(words) - 1)
    return {"instruction": NER_INSTRUCTION, "inputsentence": str(tokens), "response": str(tags)}


TASKS = {"EE": ee, "RE": re_, "TC": tc, "NER": ner}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for task, make in TASKS.items():
        rng = random.Random(f"{SEED}-{task}")
        for split, n in SIZES.items():
            rows = [make(rng) for _ in range(n)]
            path = OUT / f"smoke_{task}_{split}.json"
            path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"{path.relative_to(OUT.parent.parent)}: {n} records")


if __name__ == "__main__":
    main()
