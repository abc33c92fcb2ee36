"""``python -m zoo`` is the ``zoo`` command (what ``torchrun -m zoo train ...`` runs in every process)."""

import sys

from zoo.cli import main

sys.exit(main())
