"""Allow ``python -m katui``."""

from katui.cli import main

raise SystemExit(main())
