"""``python -m espacefamille.cli``: the ``espacefamille`` command."""

from espacefamille.cli import main

raise SystemExit(main())
