"""The official French mileage scales (barème kilométrique), one JSON file per year.

`<year>.json` holds the scale for the kilometres driven in that year (the
"revenus <year>" of the tax return). Each vehicle kind has its distance bands
(`band_limits_km`: the inclusive upper limits of the first two bands) and its
power classes (`max_cv`: the highest fiscal horsepower of the class, null for
"and more"); each band is `d × rate + fixed`. `electric_uplift` is the 20 %
added to the amount for an electric vehicle.

2024: the values of the arrêté du 27 mars 2023, reconducted unchanged for the
kilometres of 2023 and of 2024 (brochure pratique IR 2025). 2025: the 2024
scale kept unchanged — no revaluation was announced; the project's reference
notes say nothing about it, so the file is a copy of 2024 that says so in its
`source`. A year without a file uses the latest earlier scale, flagged as
provisional (see `comptoir.expenses.mileage.scale_for`): add the new file when
the administration publishes it.
"""
