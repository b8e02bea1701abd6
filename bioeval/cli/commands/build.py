"""`bioeval build`: the container image for `--runtime docker` (and Apptainer on HPC)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("build")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option("--variant", type=click.Choice(["auto", "gpu", "cpu"]), default="auto", show_default=True,
              help="gpu: CUDA base + CUDA torch lock; cpu: bookworm base + CPU torch lock; "
                   "auto: gpu when a model in MANIFEST asks for GPUs.")
@click.option("--base-image", default=None, help="Base image instead of the variant's pinned default.")
@click.option("--wheelhouse", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Install the locked wheels from this folder, offline (air-gapped hosts, CI).")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM bundle for a TLS-intercepting proxy; used in the builder stage only.")
@click.option("--sif", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also convert the image for Apptainer (apptainer build FILE docker-daemon://IMAGE).")
@click.option("--force", is_flag=True, help="Rebuild even if an image with this content hash exists.")
@click.option("--resolve-base", is_flag=True,
              help="Pull the GPU base image and print its digest-pinned reference (needs a registry).")
@click.pass_obj
def build(settings, manifest: Path | None, variant: str, base_image: str | None, wheelhouse: Path | None,
          ca_bundle: Path | None, sif: Path | None, force: bool, resolve_base: bool) -> None:
    """Build (or reuse) the bioeval image and record its id in the workdir.

    The tag is a content hash of the Dockerfile, the lock file, the bioeval wheel and the
    base image id: an unchanged recipe is found and not rebuilt.
    """
    from bioeval.console import ScrubbingConsole as Console

    from bioeval.containers import build as b
    from bioeval.errors import UsageError

    console = Console(stderr=True)
    if resolve_base:
        client = b.docker_client()
        ref = b.resolve_base(client, base_image or b.GPU_BASE)
        click.echo(ref)
        return
    if manifest is None:
        raise UsageError("bioeval build needs a MANIFEST (or --resolve-base).", "Example: bioeval build manifests/smoke.yaml")
    if variant == "auto":
        from bioeval.manifest import load_manifest

        loaded = load_manifest(manifest)
        variant = "gpu" if any(m.resources.gpus > 0 for m in loaded.manifest.models) else "cpu"
    client = b.docker_client()
    plan = b.make_plan(variant, base_image=base_image, wheelhouse=wheelhouse, ca_bundle=ca_bundle)
    result = b.build(plan, client=client, console=console, record_dir=settings.workdir, force=force)
    what = "built" if result.built else "up to date (no rebuild)"
    console.print(f"[green]{what}[/green] {result.tag}  id {result.image_id[:19]}  in {result.seconds:.1f}s; "
                  f"recorded in {result.record}")
    click.echo(result.tag)
    if sif is not None:
        from bioeval.containers.sif import convert

        out = convert(client, result.tag, sif, console)
        console.print(f"[green]wrote[/green] {out}")


COMMANDS = [build]
