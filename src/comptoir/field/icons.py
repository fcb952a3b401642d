"""Draws the field app's icons (run once; the PNG files are committed as static files).

    python -m comptoir.field.icons

A white map pin on the brand blue: rounded corners for the "any" icons, full
bleed with the pin inside the central safe zone (a circle of 40 % of the size)
for the maskable one. Needs Pillow (a dependency of WeasyPrint).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent / "static" / "field" / "icons"
BLUE = (31, 78, 121, 255)
WHITE = (255, 255, 255, 255)
SCALE = 4  # drawn larger, then reduced: smooth edges


def draw(size: int, *, maskable: bool) -> object:
    from PIL import Image, ImageDraw

    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=BLUE)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=BLUE)
    pin = 0.48 if maskable else 0.62  # height of the pin, as a part of the icon
    height = big * pin
    radius = height * 0.36
    centre_x, top = big / 2, (big - height) / 2
    centre_y = top + radius
    pen.ellipse(
        (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius), fill=WHITE
    )
    pen.polygon(
        [
            (centre_x - radius * 0.82, centre_y + radius * 0.58),
            (centre_x + radius * 0.82, centre_y + radius * 0.58),
            (centre_x, top + height),
        ],
        fill=WHITE,
    )
    hole = radius * 0.42
    pen.ellipse((centre_x - hole, centre_y - hole, centre_x + hole, centre_y + hole), fill=BLUE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
        ("apple-touch-icon.png", 180, True),  # iOS rounds the corners itself
    ):
        draw(size, maskable=maskable).save(FOLDER / name, optimize=True)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
