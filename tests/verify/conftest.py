import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # factory.py, shared with tests/report
