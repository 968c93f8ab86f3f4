"""Names for the codes the database stores (statuses, kinds, categories, roles), in gettext form."""

from __future__ import annotations

from bot.i18n import N_

APPLICATION_STATUSES = {
    "submitted": N_("Submitted"),
    "under_review": N_("Under review"),
    "needs_documents": N_("Documents needed"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "completed": N_("Completed"),
}

APPLICATION_KINDS = {
    "cooperative_registration": N_("Cooperative registration"),
    "membership": N_("Membership"),
    "program_application": N_("Support program application"),
    "membership_transfer": N_("Membership transfer"),
}

PROGRAM_CATEGORIES = {
    "loan": N_("💰 Loans"),
    "grant": N_("🎁 Grants"),
    "guarantee": N_("🛡 Guarantees"),
    "insurance": N_("☂️ Insurance"),
    "tax": N_("🧾 Tax relief"),
    "training": N_("🎓 Training"),
    "market": N_("🛒 Markets"),
    "other": N_("📌 Other support"),
}

ELIGIBILITY_TAGS = {
    "women": N_("women-led cooperatives"),
    "knowledge_based": N_("knowledge-based cooperatives"),
    "border": N_("cooperatives in border counties"),
    "deprived_area": N_("cooperatives in deprived areas"),
    "rural": N_("rural cooperatives"),
    "union": N_("unions of cooperatives"),
    "exemplary": N_("exemplary cooperatives"),
}

ROLES = {
    "input_supply": N_("Input supply"),
    "production": N_("Production"),
    "processing": N_("Processing"),
    "logistics": N_("Logistics"),
    "marketing": N_("Marketing"),
}
