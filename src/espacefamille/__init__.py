"""espacefamille — the business core of a French commune's family-services portal.

Canteen, périscolaire and holiday-centre bookings, deadlines, tariffs and invoices, as a pure-Python
library: frontends and ERP scripts import it, storage and payment are protocols they implement.
This module is the stable public API; submodules named with a leading underscore are private.
"""

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

__version__ = "0.1.0.dev0"

__all__ = [
    "ZERO",
    "BookedDays",
    "Booking",
    "BookingStatus",
    "Child",
    "Collectivite",
    "Commune",
    "ConcurrentChange",
    "Diet",
    "Enrolment",
    "EspaceFamilleError",
    "Family",
    "Guardian",
    "InvalidConfiguration",
    "InvalidInput",
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
    "__version__",
    "commune_from_dict",
    "commune_to_dict",
    "dumps_commune",
    "load_commune",
    "loads_commune",
]
