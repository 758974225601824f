"""``python -m espacefamille``: the ``espacefamille`` command (``espacefamille.cli``)."""

from espacefamille.cli import main

raise SystemExit(main())
