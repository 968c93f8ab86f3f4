"""SQLAlchemy Core tables. Alembic migrations in db/migrations create them; this mirrors them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A member as one platform knows them: a Telegram bot and a Bale bot share the database, and
# their user ids are separate number spaces.
users = Table(
    "users",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("first_name", String(128), nullable=False, server_default=""),
    Column("locale", String(8)),
    Column("province_id", String(8)),
    Column("county_id", Integer),
    Column("value_chain", String(32)),
    Column("setup_done", Boolean, nullable=False, server_default=false()),
    Column("blocked", Boolean, nullable=False, server_default=false()),
    # Granted with /admin; the ids in COOPBOT_ADMIN_IDS are staff whatever this says.
    Column("staff", Boolean, nullable=False, server_default=false()),
    # Eligibility answers (women-led, border county, ...) as ";tag;tag;", see cooperatives.
    Column("tags", String(128), nullable=False, server_default=";"),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    # /stats counts members by province and chain, and a broadcast's audience is chosen by them:
    # with this covering index neither reads the table (1M members on SQLite: 1.0 s -> 0.2 s).
    Index("ix_users_audience", "platform", "province_id", "value_chain", "blocked", "last_seen"),
)


# --- reference data: fixed national lists, seeded by migration, value chains importable -------

provinces = Table(
    "provinces",
    metadata,
    Column("id", String(8), primary_key=True),
    Column("name_fa", String(64), nullable=False),
    Column("name_en", String(64), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
)

counties = Table(
    "counties",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("province_id", String(8), ForeignKey("provinces.id"), nullable=False, index=True),
    Column("name_fa", String(64), nullable=False),
    Column("name_en", String(64), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
)

value_chains = Table(
    "value_chains",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name_fa", String(64), nullable=False),
    Column("name_en", String(64), nullable=False, server_default=""),
    Column("priority", Boolean, nullable=False, server_default=false()),
)

# --- what staff import ------------------------------------------------------------------------

# Lists (chains, provinces, tags) are stored as ";a;b;" so that "has item x" is a portable
# LIKE '%;x;%' on SQLite and PostgreSQL alike; the lists are short and closed.
cooperatives = Table(
    "cooperatives",
    metadata,
    # A surrogate integer key: SQLite's R*Tree and compact indexes want one.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("national_id", String(11), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("name_key", String(256), nullable=False),
    Column("value_chain", String(32), ForeignKey("value_chains.code"), nullable=False),
    Column("role", String(16)),
    Column("province_id", String(8), ForeignKey("provinces.id"), nullable=False),
    Column("county_id", Integer, ForeignKey("counties.id"), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    Column("phone", String(32), nullable=False, server_default=""),
    Column("members", Integer),
    Column("tags", String(128), nullable=False, server_default=";"),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("demo", Boolean, nullable=False, server_default=false()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Nearest-first search: seek on (chain, latitude band), filter longitude inside the index.
    Index("ix_cooperatives_nearby", "value_chain", "active", "lat", "lon"),
    Index("ix_cooperatives_county", "county_id", "value_chain"),
)

programs = Table(
    "programs",
    metadata,
    Column("program_id", String(64), primary_key=True),
    Column("title_fa", String(256), nullable=False),
    Column("title_en", String(256), nullable=False, server_default=""),
    Column("category", String(16), nullable=False, index=True),
    Column("provider_fa", String(256), nullable=False, server_default=""),
    Column("summary_fa", Text, nullable=False),
    Column("summary_en", Text, nullable=False, server_default=""),
    Column("value_chains", String(256), nullable=False, server_default=";"),
    Column("provinces", String(512), nullable=False, server_default=";"),
    Column("eligibility", String(128), nullable=False, server_default=";"),
    Column("opens_on", Date),
    Column("closes_on", Date),
    Column("how_to_apply_fa", Text, nullable=False, server_default=""),
    Column("how_to_apply_en", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False, server_default=""),
    # Title, provider and summary in search form (bot.text.search_key's rules, in db.text).
    Column("search_text", Text, nullable=False, server_default=""),
    Column("demo", Boolean, nullable=False, server_default=false()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("tracking_code", String(20), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(256), nullable=False),
    # Only ever compared, never shown: the member proves the application is theirs with it.
    Column("applicant_phone", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("updated_on", Date, nullable=False),
    Column("note_fa", Text, nullable=False, server_default=""),
    Column("note_en", Text, nullable=False, server_default=""),
    Column("demo", Boolean, nullable=False, server_default=false()),
)

application_history = Table(
    "application_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "tracking_code",
        String(20),
        ForeignKey("applications.tracking_code", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("status", String(32), nullable=False),
    Column("changed_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# --- members' choices and staff work -----------------------------------------------------------

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("topic", String(16), primary_key=True),  # "chain" or "province"
    Column("value", String(32), primary_key=True),
    ForeignKeyConstraint(
        ["platform", "user_id"], ["users.platform", "users.user_id"], ondelete="CASCADE"
    ),
    Index("ix_subscriptions_topic", "topic", "value"),
)

announcements = Table(
    "announcements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
    Column("media_kind", String(16)),  # None, "photo" or "document"
    Column("media_file_id", String(256)),
    Column("chains", String(256), nullable=False, server_default=";"),
    Column("provinces", String(512), nullable=False, server_default=";"),
    Column("status", String(16), nullable=False, server_default="queued"),
    Column("progress_chat_id", BigInteger),
    Column("progress_message_id", BigInteger),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("announcement_id", Integer, ForeignKey("announcements.id", ondelete="CASCADE")),
    Column("platform", String(16), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    # A status-change notification has no announcement; its text is its own.
    Column("text", Text),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("error", String(256)),
    UniqueConstraint("announcement_id", "platform", "user_id", name="uq_deliveries_recipient"),
    Index("ix_deliveries_pending", "status", "next_attempt_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("actor_id", BigInteger),  # None for the shell (`coopbot import`, `coopbot broadcast`)
    Column("action", String(32), nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
)


# --- what the member journeys keep ---------------------------------------------------------------

# python-telegram-bot's conversation states (bot/persistence.py), so a restart loses no step.
conversations = Table(
    "conversations",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),  # JSON list: [chat_id, user_id]
    Column("state", Text, nullable=False),  # JSON
)

# One row per look-up a member makes: /stats counts them, and unknown tracking codes are rate
# limited from them (so limits hold across restarts and processes).
lookups = Table(
    "lookups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("journey", String(16), nullable=False),  # programs, status, nearby, ...
    Column("outcome", String(16), nullable=False, server_default="ok"),  # ok, unknown, ...
    Column("detail", String(64), nullable=False, server_default=""),  # e.g. the tracking code
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_lookups_user", "platform", "user_id", "journey", "at"),
    Index("ix_lookups_at", "at"),
)

# "Notify me": members who proved an application is theirs and want its status changes.
application_watches = Table(
    "application_watches",
    metadata,
    Column(
        "tracking_code",
        String(20),
        ForeignKey("applications.tracking_code", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("platform", String(16), primary_key=True),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("locale", String(8)),
)
