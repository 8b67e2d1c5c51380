"""`python -m bot` is the same as `deskbot`."""

import sys

from bot.cli import main

sys.exit(main())
