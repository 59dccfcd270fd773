"""``python -m hallctl`` runs the CLI."""

import sys

from hallctl.cli import main

sys.exit(main())
