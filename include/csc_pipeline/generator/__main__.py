"""`python -m csc_pipeline.generator`: see cli.py."""

from .cli import main

raise SystemExit(main())
