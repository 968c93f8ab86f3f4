"""The shared database: schema, migrations, reference data and repositories. Imports nothing of bot/."""
