"""``python -m bmc.cli``."""

import sys

from bmc.cli.main import main

sys.exit(main())
