"""``python -m context.cli``: the ``qwen-context`` command line."""

import sys

from context.cli import main

sys.exit(main())
