"""``python -m up42keys``: the same entry point as the installed command."""

import sys

from up42keys.fastpath import main

sys.exit(main())
