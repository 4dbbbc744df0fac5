"""`python -m csc_generator`: see cli.py."""

from .cli import main

raise SystemExit(main())
