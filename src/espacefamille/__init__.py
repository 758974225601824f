"""espacefamille — the business core of a French commune's family-services portal.

Canteen, périscolaire and holiday-centre bookings, deadlines, tariffs and invoices, as a pure-Python
library: frontends and ERP scripts import it, storage and payment are protocols they implement.

This module hands out the names a host needs first — the services, the reference stores and clocks, the
commune's configuration, the entities, money and errors — and the namespaces, each a package whose
``__init__`` says what it offers: ``calendar``, ``rules``, ``billing``, ``families``, ``ports``,
``adapters``, ``services``, ``interop``, ``demo``, ``examples`` (``testing`` needs pytest and hypothesis, and
``cli`` its optional extra: import them by name). docs/api.md lists every public name, package by package;
modules and packages named with a leading underscore are private.
"""

from espacefamille import (
    adapters,
    billing,
    calendar,
    demo,
    examples,
    families,
    interop,
    ports,
    rules,
    services,
)
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.adapters.sqlite import SqliteAccountStore, SqliteStore
from espacefamille.commune import Commune
from espacefamille.config import (
    commune_from_dict,
    commune_to_dict,
    dumps_commune,
    load_commune,
    loads_commune,
)
from espacefamille.errors import (
    ConcurrentChange,
    EspaceFamilleError,
    InvalidConfiguration,
    InvalidInput,
    MissingData,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)
from espacefamille.model import (
    BookedDays,
    Booking,
    BookingStatus,
    Child,
    Collectivite,
    Diet,
    Enrolment,
    Family,
    Guardian,
    PaymentMode,
    Prestation,
    PrestationKind,
    QuotientFamilial,
    Regie,
    Residence,
    SchoolClass,
    Service,
    ServiceKind,
)
from espacefamille.money import ZERO, Money, RoundingMode, RoundingPoint, RoundingPolicy
from espacefamille.ports import Clock, CommuneStore, FixedClock, SystemClock, UnitOfWork
from espacefamille.services import BackOffice, FamilyPortal

__version__ = "0.1.0.dev0"

__all__ = [
    "ZERO",
    "BackOffice",
    "BookedDays",
    "Booking",
    "BookingStatus",
    "Child",
    "Clock",
    "Collectivite",
    "Commune",
    "CommuneStore",
    "ConcurrentChange",
    "Diet",
    "Enrolment",
    "EspaceFamilleError",
    "Family",
    "FamilyPortal",
    "FixedClock",
    "Guardian",
    "InvalidConfiguration",
    "InvalidInput",
    "MemoryAccountStore",
    "MemoryStore",
    "MissingData",
    "Money",
    "NotFound",
    "PaymentMode",
    "PermissionDenied",
    "Prestation",
    "PrestationKind",
    "QuotientFamilial",
    "Regie",
    "Residence",
    "RoundingMode",
    "RoundingPoint",
    "RoundingPolicy",
    "SchoolClass",
    "Service",
    "ServiceKind",
    "SqliteAccountStore",
    "SqliteStore",
    "StoreUnavailable",
    "SystemClock",
    "UnitOfWork",
    "__version__",
    "adapters",
    "billing",
    "calendar",
    "commune_from_dict",
    "commune_to_dict",
    "demo",
    "dumps_commune",
    "examples",
    "families",
    "interop",
    "load_commune",
    "loads_commune",
    "ports",
    "rules",
    "services",
]
