"""The installed package: the console script, and the data files a fresh install needs."""

from __future__ import annotations

from importlib import metadata, resources


def test_the_coopbot_console_script_is_installed() -> None:
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts["coopbot"] == "bot.cli:main"


def test_reference_data_catalogs_and_migrations_ship_inside_the_packages() -> None:
    for package, name in [
        ("db.reference", "provinces.csv"),
        ("db.reference", "counties.csv"),
        ("db.reference", "value-chains.csv"),
        ("db.reference", "SOURCE.md"),
        ("db.migrations", "env.py"),
        ("locales", "coopbot.pot"),
    ]:
        assert (resources.files(package) / name).is_file(), (package, name)
    for locale in ("fa", "en"):
        assert (resources.files("locales") / locale / "LC_MESSAGES" / "coopbot.po").is_file()


def test_the_credit_the_geodata_licence_asks_for_is_in_the_source_note() -> None:
    note = (resources.files("db.reference") / "SOURCE.md").read_text(encoding="utf-8")
    assert "OpenStreetMap" in note and "GeoNames" in note and "ODbL" in note
