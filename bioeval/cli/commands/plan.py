"""`bioeval plan`: the cells, run ids, expected values and the protocol with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.cli.options import add_model_options, load


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--only", default=None, help="Filter cells: model=KEY,dataset=KEY,task=NER (comma-separated).")
@add_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--costs", is_flag=True, help="Also what the grid costs: tokens and GPU-hours per cell (reads the data).")
@click.option("--gpu", default="A100-40GB", show_default=True, help="GPU type the costs are for (--costs).")
@click.option("--throughput", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON of bench/device_check.py: measured efficiencies replace the assumed ones (--costs).")
@click.option("--tokenizer", default=None, type=click.Path(path_type=Path),
              help="tokenizer.json (or a folder with one) to count tokens exactly (--costs); else estimated.")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Runs per cell the detection (minimum detectable effect per value) is computed for.")
@click.pass_obj
def plan(settings, manifest: Path, only: str | None, add_model: tuple, like: str | None, as_json: bool, costs: bool,
         gpu: str, throughput: Path | None, tokenizer: Path | None, seeds: int) -> None:
    """List the cells a manifest defines and every protocol value with its provenance, the
    tolerances, the deviations from the paper and the datasets' notes, what each value can
    detect (the smallest shift the global verdict names at 80%); with --costs, the
    training and generated tokens and GPU-hours of every cell and of the grid."""
    from bioeval.manifest import cells
    from bioeval.manifest.summary import plan_json

    loaded = load(manifest, add_model, like)
    cell_list = cells(loaded, only)
    data = plan_json(loaded, cell_list)
    if loaded.manifest.expected:
        from bioeval.verify.detection import detection

        data["detection"] = detection(loaded, cell_list, k=seeds)
    if costs:
        from bioeval.pipeline.costs import grid_costs

        data["costs"] = grid_costs(loaded, cell_list, settings, gpu=gpu, throughput=throughput, tokenizer=tokenizer)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from bioeval.cli.render import render_plan

    render_plan(data)


COMMANDS = [plan]
