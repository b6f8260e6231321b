"""The shared vocabulary of synthetic funnels: segments, industries, personas, sources, event types.

The scoring models are written against exactly these values; FunnelSpec mixes are keyed by them.
"""

from __future__ import annotations

__all__ = [
    "SEGMENTS",
    "INDUSTRIES",
    "SENIORITIES",
    "DEPARTMENTS",
    "SOURCES",
    "EVENT_TYPES",
    "INTENT_KINDS",
    "ACCOUNT_FIT_TERMS",
    "TITLES",
]

SEGMENTS: tuple[str, ...] = ("smb", "mid_market", "enterprise")
INDUSTRIES: tuple[str, ...] = (
    "software", "fintech", "healthcare", "manufacturing", "retail", "education", "government", "media",
)
SENIORITIES: tuple[str, ...] = ("c_level", "vp", "director", "manager", "individual", "student")
DEPARTMENTS: tuple[str, ...] = (
    "engineering", "it", "security", "sales", "marketing", "finance", "operations", "procurement", "hr",
)
SOURCES: tuple[str, ...] = (
    "organic", "paid_search", "paid_social", "webinar", "event", "referral", "outbound", "partner",
)
EVENT_TYPES: tuple[str, ...] = (
    "demo_request", "pricing_page", "case_study", "webinar", "blog_read", "email_open", "email_click",
    "security_page", "rfp_received", "unsubscribe",
)
ACCOUNT_FIT_TERMS: tuple[str, ...] = (
    "target_industry", "revenue_in_band", "revenue_over_band", "employees_200_plus",
)
INTENT_KINDS: tuple[str, ...] = ("none", "current", "past")
"""A lead's buying window: none, close to as_of (current) or long ago and gone quiet (past)."""

TITLES: tuple[tuple[str, str, str, float], ...] = (
    ("Chief Technology Officer", "c_level", "engineering", 3.0),
    ("CFO", "c_level", "finance", 2.0),
    ("Chief Information Security Officer", "c_level", "security", 1.5),
    ("Chief Marketing Officer", "c_level", "marketing", 1.5),
    ("Chief Operating Officer", "c_level", "operations", 1.5),
    ("VP Engineering", "vp", "engineering", 3.0),
    ("VP of Sales", "vp", "sales", 2.0),
    ("VP Marketing", "vp", "marketing", 2.0),
    ("VP of IT", "vp", "it", 1.5),
    ("VP Finance", "vp", "finance", 1.0),
    ("VP Operations", "vp", "operations", 1.0),
    ("VP People", "vp", "hr", 0.5),
    ("Director of IT", "director", "it", 3.0),
    ("Head of Security", "director", "security", 2.0),
    ("Director of Engineering", "director", "engineering", 2.0),
    ("Director of Procurement", "director", "procurement", 1.0),
    ("Marketing Director", "director", "marketing", 1.5),
    ("Director of Finance", "director", "finance", 1.0),
    ("Head of Operations", "director", "operations", 1.0),
    ("HR Director", "director", "hr", 0.5),
    ("IT Manager", "manager", "it", 3.0),
    ("Marketing Manager", "manager", "marketing", 3.0),
    ("Engineering Manager", "manager", "engineering", 2.0),
    ("Security Manager", "manager", "security", 1.0),
    ("Procurement Manager", "manager", "procurement", 1.0),
    ("Sales Manager", "manager", "sales", 2.0),
    ("Finance Manager", "manager", "finance", 1.0),
    ("Operations Manager", "manager", "operations", 1.5),
    ("HR Manager", "manager", "hr", 1.0),
    ("Software Engineer", "individual", "engineering", 4.0),
    ("Analyst", "individual", "finance", 2.0),
    ("Security Engineer", "individual", "security", 1.0),
    ("Systems Administrator", "individual", "it", 2.0),
    ("Account Executive", "individual", "sales", 2.0),
    ("Marketing Specialist", "individual", "marketing", 2.0),
    ("Buyer", "individual", "procurement", 1.0),
    ("Operations Analyst", "individual", "operations", 1.5),
    ("Recruiter", "individual", "hr", 1.0),
    ("Student", "student", "engineering", 3.0),
    ("Intern", "student", "marketing", 2.0),
)
"""Default title catalogue: (title, seniority, department, relative weight within the seniority)."""
