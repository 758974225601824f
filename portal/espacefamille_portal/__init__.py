"""espacefamille_portal — a reference family portal over espacefamille's services (Starlette, in French).

A host application, not part of the library: ``import espacefamille`` never imports it. ``create_app``
builds the web application over a commune's store and the host's account store; ``python -m
espacefamille_portal`` (``make portal``) serves the demo city. docs/portal.md tells what it shows.
"""

from .app import PortalState, create_app
from .clock import DemoClock
from .demo import DemoPortal, prepare_demo
from .gateway import DevPayfip

__all__ = ["DemoClock", "DemoPortal", "DevPayfip", "PortalState", "create_app", "prepare_demo"]
