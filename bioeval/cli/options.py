"""Options several commands share (click decorators only; what they mean lives in the library)."""

from __future__ import annotations

import click


def add_model_options(f):
    """--add-model KEY=REPO@REVISION | KEY=./LOCAL/PATH (repeatable) and --like EXISTING_KEY."""
    f = click.option("--like", default=None, metavar="EXISTING_KEY",
                     help="Added models inherit this model's per-model overrides and resources and are paired "
                          "with it in comparisons.")(f)
    f = click.option("--add-model", "add_model", multiple=True, metavar="KEY=REPO@REVISION|KEY=./PATH",
                     help="Run the manifest's protocol on a model that is not in it (repeatable); its cells "
                          "have no published values and get the verdict NEW.")(f)
    return f


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(f)


def load(manifest, add_model=(), like=None):
    """The manifest with the models of --add-model added."""
    from bioeval.manifest.extend import load_with_additions

    return load_with_additions(manifest, add_model, like)
