"""The lab mirror path for module-scoped fixtures (the function-scoped `mirror` fixture skips when absent)."""
from pathlib import Path

MIRROR_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "zhan2024"
