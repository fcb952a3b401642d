"""Demo Compléments for MegaDiags: the technicians' vehicles, three months of trips and of
receipts (fuel, tolls, parking, meals), one receipt cancelled as a double entry."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO

from comptoir.accounts.models import User
from comptoir.core import audit
from comptoir.core.demo_data import TOWNS
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Membership, Organization
from comptoir.dossiers.demo import minimal_pdf
from comptoir.dossiers.models import Dossier
from comptoir.expenses import services
from comptoir.expenses.models import ExpenseCategory, Vehicle

# login -> (vehicle, registration, fiscal horsepower, electric, home town)
VEHICLES = {
    "jdurant": ("Peugeot 208 diesel", "GH-512-KL", 5, False, "Roubaix"),
    "llefebvre": ("Renault Zoé", "FT-208-EV", 4, True, "Tourcoing"),
    "mguyot": ("Dacia Duster", "EK-741-RD", 6, False, "Arras"),
}
# category code -> (suppliers, lowest and highest amount incl. VAT, VAT rate %)
RECEIPTS = {
    "carburant": (["TotalEnergies Lille", "Station Avia Roubaix", "Intermarché Arras"], 45, 95, 20),
    "peage": (["Sanef A1", "Sanef A26"], 3, 18, 20),
    "stationnement": (["Indigo Lille Grand Palais", "Parking Euralille"], 2, 14, 20),
    "repas": (["Brasserie du Beffroi", "Paul Lille Flandres", "Le Bistrot d'Arras"], 12, 28, 10),
    "fournitures": (["Bureau Vallée Lille"], 8, 60, 20),
}
DAYS = 95


def _amounts(rng: random.Random, low: int, high: int, rate: int) -> tuple[str, str, str]:
    ttc = Decimal(rng.randint(low * 100, high * 100)) / 100
    ht = (ttc / (1 + Decimal(rate) / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return str(ttc), str(ht), str(ttc - ht)


def _moment(ctx: DemoContext, day: date) -> datetime:
    """When the entry of `day` was typed in: that evening, or now for today's."""
    return ctx.days_ago(max((ctx.today - day).days - 0.3, 0))


def load(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    actor = ctx.objects["megadiags:mmarty"].user
    rng = random.Random(ctx.seed + 51)  # noqa: S311  (demo data; leaves ctx.random to the others)
    categories = {c.code: c for c in services.categories(org)}
    first = max(ctx.today - timedelta(days=DAYS), date(ctx.today.year, 1, 1))
    for login, (label, plate, power, electric, town) in VEHICLES.items():
        member: Membership = ctx.objects[f"megadiags:{login}"]
        with audit.backdated(ctx.days_ago(DAYS + 5)):
            vehicle = services.create_vehicle(
                org,
                actor=actor,
                member=member,
                label=label,
                registration=plate,
                kind=Vehicle.Kind.CAR,
                fiscal_power=power,
                is_electric=electric,
            )
        dossiers = list(Dossier.objects.filter(organization=org, technician=member)[:40])
        _trips(ctx, rng, org, actor, member, vehicle, dossiers, town, first)
        _receipts(ctx, rng, org, actor, member, categories, electric, first)


def _trips(
    ctx: DemoContext,
    rng: random.Random,
    org: Organization,
    actor: User,
    member: Membership,
    vehicle: Vehicle,
    dossiers: list[Dossier],
    town: str,
    first: date,
) -> None:
    day = first
    while day <= ctx.today:
        if day.weekday() < 5 and rng.random() < 0.55:
            destination = rng.choice([name for _code, name in TOWNS if name != town])
            dossier = rng.choice(dossiers) if dossiers and rng.random() < 0.7 else None
            purpose = f"Diagnostics — dossier {dossier.number}" if dossier else "Rendez-vous agence"
            with audit.backdated(_moment(ctx, day)):
                services.create_trip(
                    org,
                    actor=actor,
                    member=member,
                    vehicle=vehicle,
                    date=day,
                    origin=town,
                    destination=destination,
                    distance_km=str(Decimal(rng.randint(80, 1700)) / 10),
                    purpose=purpose,
                    dossier=dossier,
                )
        day += timedelta(days=1)


def _receipts(
    ctx: DemoContext,
    rng: random.Random,
    org: Organization,
    actor: User,
    member: Membership,
    categories: dict[str, ExpenseCategory],
    electric: bool,
    first: date,
) -> None:
    codes = [code for code in RECEIPTS if not (electric and code == "carburant")]
    made = []
    for _ in range(rng.randint(9, 14)):
        code = rng.choice(codes)
        suppliers, low, high, rate = RECEIPTS[code]
        day = first + timedelta(days=rng.randint(0, (ctx.today - first).days))
        ttc, ht, vat = _amounts(rng, low, high, rate)
        supplier = rng.choice(suppliers)
        pdf = minimal_pdf(f"{supplier} - {day:%d/%m/%Y} - Total TTC {ttc} EUR")
        with audit.backdated(_moment(ctx, day)):
            made.append(
                services.create_receipt(
                    org,
                    actor=actor,
                    upload=BytesIO(pdf),
                    file_name=f"ticket-{day:%Y%m%d}-{code}.pdf",
                    member=member,
                    date=day,
                    supplier=supplier,
                    amount_ttc=ttc,
                    amount_ht=ht,
                    amount_vat=vat,
                    category=categories[code],
                    notes="",
                )
            )
    if member.user.login == "jdurant" and made:
        with audit.backdated(ctx.days_ago(2)):
            services.cancel_receipt(made[0], actor=actor, reason="Saisi deux fois")
