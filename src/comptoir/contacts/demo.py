"""Demo address book (300 contacts for MegaDiags) and generated contacts for benchmarks."""

from __future__ import annotations

import argparse
from typing import Any

from stdnum import luhn

from comptoir.contacts.models import Contact, ContactAddress
from comptoir.contacts.services import create_contact
from comptoir.core import audit
from comptoir.core.demo_data import AGENCIES, NOTARIES, address, ascii_slug, person, phone
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Organization

DEMO_CONTACTS = 300


def luhn_siret(rng: Any) -> str:
    """A SIRET that passes python-stdnum's check, as real ones do: a SIREN with its Luhn
    key, then an establishment number that makes the 14 digits Luhn-valid too."""
    siren = "".join(str(rng.randint(0, 9)) for _ in range(8))
    siren += luhn.calc_check_digit(siren)
    nic = f"{rng.randint(1, 999):04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def _company(ctx: DemoContext, name: str, category: str) -> dict[str, Any]:
    siret = luhn_siret(ctx.random)
    street, postcode, city = address(ctx.random)
    return {
        "kind": "company",
        "category": category,
        "company_name": name,
        "siret": siret,
        "siren": siret[:9],
        "email": f"contact@{ascii_slug(name)[:20]}.fr",
        "phone": phone(ctx.random),
        "addresses": [{"label": "Siège", "street": street, "postcode": postcode, "city": city}],
    }


def _person(ctx: DemoContext, category: str) -> dict[str, Any]:
    first, last = person(ctx.random)
    street, postcode, city = address(ctx.random)
    email = f"{ascii_slug(first)}.{ascii_slug(last)}{ctx.random.randint(1, 99)}@exemple.fr"
    return {
        "kind": "person",
        "category": category,
        "civility": ctx.random.choice(["M.", "Mme"]),
        "first_name": first,
        "last_name": last.upper(),
        "email": email if ctx.random.random() < 0.8 else "",
        "phone": phone(ctx.random),
        "addresses": [{"label": "Domicile", "street": street, "postcode": postcode, "city": city}],
    }


def load(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    actor = ctx.objects["megadiags:mmarty"].user
    made: dict[str, list[Contact]] = {"agency": [], "notary": [], "owner": [], "other": []}
    specs = [_company(ctx, name, "agency") for name in AGENCIES]
    specs += [_company(ctx, name, "notary") for name in NOTARIES]
    while len(specs) < DEMO_CONTACTS:
        roll = ctx.random.random()
        category = "owner" if roll < 0.7 else "client" if roll < 0.85 else "prospect"
        specs.append(_person(ctx, category))
    for index, spec in enumerate(specs):
        with audit.backdated(ctx.days_ago(720 - index * 2)):
            contact = create_contact(org, actor=actor, **spec)
        made.get(contact.category, made["other"]).append(contact)
    ctx.objects["contacts"] = made


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contacts", type=int, default=0, help="Contacts to add.")


def generate(ctx: DemoContext, options: dict[str, Any]) -> str:
    """Bulk-insert contacts with an address each; one audit entry for the batch."""
    count = options.get("contacts") or 0
    if count <= 0:
        return ""
    org: Organization = ctx.objects["org"]
    batch = 5000
    for start in range(0, count, batch):
        specs = [
            _person(ctx, "owner")
            if ctx.random.random() < 0.9
            else _company(ctx, f"Société {start + index}", "agency")
            for index in range(min(batch, count - start))
        ]
        contacts, addresses = [], []
        for spec in specs:
            spec = dict(spec)
            places = spec.pop("addresses")
            contact = Contact(organization=org, **spec)
            contact.refresh_search_text([ContactAddress(**place) for place in places], [])
            contacts.append(contact)
            addresses.append(places)
        Contact.objects.bulk_create(contacts, batch_size=1000)
        ContactAddress.objects.bulk_create(
            [
                ContactAddress(contact=contact, **place)
                for contact, places in zip(contacts, addresses, strict=True)
                for place in places
            ],
            batch_size=2000,
        )
    audit.record(
        "contact.generate",
        organization=org,
        actor=None,
        object_type="contact",
        object_repr=f"{count} contacts générés",
        after={"count": count},
    )
    return f"{count} contacts"
