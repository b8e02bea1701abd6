"""The `bioeval` command line.  Commands stay thin: they parse options and call library code.

Start-up cost matters (validate/plan run in CI and editors): nothing here imports torch,
transformers or peft, and heavy modules are imported inside the command that needs them.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from bioeval import __version__
from bioeval.errors import EXIT_RUNTIME, EXIT_USAGE, PATH_ERRNOS, WRITE_ERRNOS, BioevalError
from bioeval.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bioeval")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), envvar="BIOEVAL_WORKDIR",
              default="bioeval-runs", show_default=True, help="Where runs, checkpoints, predictions and receipts live.")
@click.option("--data-mirror", type=click.Path(file_okay=False, path_type=Path), envvar="BIOEVAL_DATA_MIRROR",
              default=None, help="Serve data files from this local folder (still sha256-checked).")
@click.option("--allow-outside-paths", is_flag=True, default=False,
              help="Let `local:` data paths point outside the manifest's folder, the data mirror and the "
                   "manifest's declared data locations (only for manifests you trust).")
@click.pass_context
def main(ctx: click.Context, workdir: Path, data_mirror: Path | None, allow_outside_paths: bool) -> None:
    """Re-run and verify published biomedical LLM results from a YAML manifest.

    \b
    Typical use:
      bioeval validate manifests/*.yaml     check manifests (no GPU, < 1 s)
      bioeval plan MANIFEST                 list the cells and the protocol with provenance
      bioeval audit MANIFEST                audit the paper's data and published tables
      bioeval reproduce MANIFEST            fetch, run, verify and report
      bioeval verify MANIFEST --results D   check saved results against the paper (no GPU)

    Exit codes: 0 success, 1 verification failed, 2 usage or manifest error, 3 runtime failure.
    """
    from bioeval.memory import reuse_freed_memory

    reuse_freed_memory()  # here, not at start-up: `bioeval --help` needs no allocator setting (nor ctypes)
    ctx.obj = Settings(workdir=workdir, data_mirror=data_mirror, allow_outside_paths=allow_outside_paths)


COMMAND_MODULES = ("validate", "plan", "schema", "lock", "fetch", "audit", "run", "reproduce", "score", "show",
                   "verify", "compare", "report", "build", "status")


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:  # one module per command: bioeval/cli/commands/<command>.py
        for command in importlib.import_module(f"bioeval.cli.commands.{name}").COMMANDS:
            main.add_command(command)


_register()


def run(argv: list[str] | None = None) -> None:
    """Console entry point: map errors to exit codes, one paragraph, no traceback.
    Everything printed goes through bioeval.redact.scrub (no secret value reaches the console)."""
    from bioeval.redact import ScrubbingStream

    sys.stdout, sys.stderr = ScrubbingStream(sys.stdout), ScrubbingStream(sys.stderr)
    try:
        main.main(args=argv, prog_name="bioeval", standalone_mode=False)
    except BioevalError as exc:
        _print_error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        _print_error("Aborted.")
        sys.exit(130)
    except KeyboardInterrupt:
        _print_error("Interrupted; finished work is kept and the next run resumes from it.")
        sys.exit(130)
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS | PATH_ERRNOS:
            raise_internal()
        from bioeval.errors import WorkdirError

        error = WorkdirError.from_os_error(exc)
        _print_error(str(error))
        sys.exit(error.exit_code)
    except Exception:  # a bug in bioeval, not a user error: keep the traceback for the report
        raise_internal()
    sys.exit(0)


def raise_internal() -> None:
    traceback.print_exc()
    _print_error("Internal error (a bug in bioeval); please report it with the traceback above.")
    sys.exit(EXIT_RUNTIME)


def _print_error(message: str) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
