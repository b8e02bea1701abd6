"""The command line's allocator setting (bioeval/memory.py)."""

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_large_buffers_are_kept_for_reuse():
    # in a fresh interpreter: the setting is process-wide. After it, freeing a 200 MB buffer
    # leaves it in the heap (RSS stays high), where glibc's default would unmap it at once.
    code = ("import sys, numpy as np\n"
            "from bioeval.memory import reuse_freed_memory\n"
            "def rss():\n"
            "    return int(open('/proc/self/statm').read().split()[1]) * 4096\n"
            "if sys.argv[1] == 'on': assert reuse_freed_memory()\n"
            "before = rss(); a = np.ones(200 << 20, dtype=np.uint8); del a\n"
            "print(rss() - before > 150 << 20)\n")
    kept = {mode: subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, check=True)
            .stdout.strip() for mode in ("on", "off")}
    assert kept == {"on": "True", "off": "False"}


def test_every_command_sets_it_and_help_alone_does_not():
    code = ("import sys\nfrom bioeval.cli import run\ntry:\n    run(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('bioeval.memory' in sys.modules, file=sys.stderr)")
    seen = {args[0]: subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
            .stderr.strip().splitlines()[-1] for args in (["--help"], ["schema"])}
    assert seen == {"--help": "False", "schema": "True"}
