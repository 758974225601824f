"""``python -m espacefamille_portal``: the demo city, served on http://127.0.0.1:8000 (``make portal``)."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from espacefamille import SqliteAccountStore, SqliteStore

from .app import create_app
from .clock import DemoClock
from .demo import prepare_demo


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="espacefamille_portal", description="Le portail famille de démonstration."
    )
    parser.add_argument(
        "--out", default="out/portal", help="dossier des bases SQLite (recréées à chaque démarrage)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--families", type=int, default=400, help="nombre de familles de la ville de démonstration"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    store, accounts = SqliteStore(out / "commune.sqlite"), SqliteAccountStore(out / "comptes.sqlite")
    base = f"http://{args.host}:{args.port}"
    demo = prepare_demo(store, accounts, base_url=base, families=args.families)
    app = create_app(store, accounts, clock=DemoClock(demo.opens))
    print(f"Portail famille : {base}/  (courriels d'activation : {base}/dev/courriels)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
