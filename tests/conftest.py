import sys
from pathlib import Path

# The LQR reference module lives beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
