"""How to call each field app route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from comptoir.field.models import PairedDevice
from tests.agenda.routes import new_appointment_form
from tests.conftest import Persona
from tests.core.test_routes import Builder, page
from tests.dossiers.routes import a_dossier
from tests.field.conftest import DOSSIER_FORM, receipt_form


def a_device(people: dict[str, Persona], me: Persona) -> str:
    """A phone paired by the persona asking (in their own organisation)."""
    device = PairedDevice.objects.create(
        organization=me.org, member=me.member, name="iPhone · Safari"
    )
    return str(device.public_id)


ROUTES: dict[str, Builder] = {
    "field-home": lambda people, me: ("GET", page("field:home"), None),
    "field-dossiers": lambda people, me: ("GET", page("field:dossiers"), {"q": "Lille"}),
    "field-dossier": lambda people, me: (
        "GET",
        page("field:dossier", dossier_id=a_dossier(people, me)),
        None,
    ),
    "field-note-add": lambda people, me: (
        "POST",
        page("field:note-add", dossier_id=a_dossier(people, me)),
        {"text": "Digicode 1234B, clés chez la gardienne."},
    ),
    "field-dossier-create": lambda people, me: (
        "POST",
        page("field:dossier-create"),
        DOSSIER_FORM,
    ),
    "field-appointment-add": lambda people, me: (
        "POST",
        page("field:appointment-add"),
        new_appointment_form(people, me),
    ),
    "field-receipt-add": lambda people, me: ("POST", page("field:receipt-add"), receipt_form()),
    "field-phone": lambda people, me: ("GET", page("field:phone"), None),
    "field-phone-link": lambda people, me: ("POST", page("field:phone-link"), None),
    "field-device-revoke": lambda people, me: (
        "POST",
        page("field:device-revoke", device_id=a_device(people, me)),
        None,
    ),
}

# The new code is shown on the page that made it (once), not after a redirect.
SUCCESS_STATUS = {"field-phone-link": 200}
