"""``python -m model_code <command>``: the same entry point as ``floorplan``."""

import sys

from model_code.cli import main

sys.exit(main())
