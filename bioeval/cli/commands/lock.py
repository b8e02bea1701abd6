"""`bioeval lock`: pin a manifest's revisions and checksums, written back in place."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bioeval.errors import EXIT_OK, EXIT_RUNTIME, EXIT_VERIFY_FAILED


@click.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if lock would change the manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print the changes and problems as JSON.")
@click.pass_obj
def lock(settings, manifest: Path, check: bool, as_json: bool) -> None:
    """Pin a manifest: resolve Hub branches/tags to commits, confirm model revisions, fill missing sha256.

    Writes the result back in place, keeping comments and layout. Needs the network (or
    HF_ENDPOINT pointing at a Hub mirror; files can also come from --data-mirror).
    """
    from bioeval.console import console
    from bioeval.pipeline.lock import lock_manifest, render_lock

    result = lock_manifest(manifest, settings, write=not check)
    if as_json:
        click.echo(json.dumps({"manifest": str(result.path), "changes": result.changes, "problems": result.problems,
                               "written": result.written}, indent=2))
    else:
        render_lock(result, console(), check)
    if result.problems:
        sys.exit(EXIT_RUNTIME)
    if check and result.changes:
        sys.exit(EXIT_VERIFY_FAILED)
    sys.exit(EXIT_OK)


COMMANDS = [lock]
