"""Shared set-up of the portal's tests: the demo city (a dozen families) in SQLite, at a fixed instant."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from espacefamille import FixedClock, SqliteAccountStore, SqliteStore
from espacefamille_portal import DemoPortal, DevPayfip, create_app, prepare_demo

FAMILIES = 12


@attrs.frozen
class Portal:
    app: Starlette
    demo: DemoPortal
    clock: FixedClock
    gateway: DevPayfip
    store: SqliteStore


@pytest.fixture
def portal(tmp_path: Path) -> Portal:
    store, accounts = (
        SqliteStore(tmp_path / "commune.sqlite"),
        SqliteAccountStore(tmp_path / "comptes.sqlite"),
    )
    demo = prepare_demo(store, accounts, base_url="http://testserver", families=FAMILIES)
    clock = FixedClock(demo.opens)
    gateway = DevPayfip()
    return Portal(create_app(store, accounts, clock=clock, gateway=gateway), demo, clock, gateway, store)


@pytest.fixture
def client(portal: Portal) -> Iterator[TestClient]:
    with TestClient(portal.app, raise_server_exceptions=False) as client:
        yield client


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found[1]


def activation_links(client: TestClient) -> list[str]:
    page = client.get("/dev/courriels")
    return re.findall(r'href="(/activer\?jeton=[^"]+)"', page.text)


def activate(client: TestClient, link: str, email: str) -> str:
    """Follow an activation link and register; the page reached afterwards."""
    page = client.get(link.replace("&amp;", "&"))
    token = re.search(r'name="jeton" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post("/activer", data={"csrf": csrf(page.text), "jeton": token[1], "courriel": email})
    return html.unescape(response.text)
