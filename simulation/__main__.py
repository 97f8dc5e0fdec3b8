"""`python -m simulation ...` is the same as `reluctant-army ...`."""

import sys

from simulation.cli import main

sys.exit(main())
