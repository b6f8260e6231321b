"""Reps and the routing policy: who works which leads, when, how many a day, and the SLA of each tier.

DOMAIN.md section 6: hot (tier A) goes to an AE or SDR within 2 hours, warm (B) to an SDR within 24 hours,
cold tiers go to nurture (not routed); when the owner cannot make it, the lead overflows to the next rep
of the chain and finally to a manager. Every number is a field with a default; both dataclasses are frozen
and validated at construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scoring.errors import SettingsError

__all__ = ["Rep", "RoutingPolicy", "rep_team"]

_ROLES = ("ae", "sdr", "manager")


@dataclass(frozen=True)
class Rep:
    """One rep: role, first touches a working day, segments covered and working hours (local time)."""

    rep_id: str
    role: str = "sdr"
    """"sdr", "ae" or "manager"."""
    daily_capacity: int = 20
    """Leads the rep can first-touch per working day."""
    segments: tuple[str, ...] = ()
    """Segments the rep covers; empty covers every segment."""
    start_hour: float = 9.0
    end_hour: float = 17.0
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    """Local weekdays worked, Monday = 0."""
    utc_offset_hours: float = 0.0
    """Local time minus UTC, in hours (e.g. -5 for US Eastern standard time)."""

    def __post_init__(self) -> None:
        problems = []
        if self.role not in _ROLES:
            problems.append(f"role {self.role!r} is not one of {list(_ROLES)}")
        if self.daily_capacity < 1:
            problems.append(f"daily_capacity {self.daily_capacity} must be >= 1")
        if not 0.0 <= self.start_hour < self.end_hour <= 24.0:
            problems.append(f"hours {self.start_hour}-{self.end_hour} must satisfy 0 <= start < end <= 24")
        if not self.workdays or any(d not in range(7) for d in self.workdays):
            problems.append(f"workdays {self.workdays} must be a non-empty subset of 0..6 (Monday = 0)")
        if problems:
            raise SettingsError(f"rep {self.rep_id!r}: " + "; ".join(problems))

    @property
    def schedule(self) -> tuple[float, float, tuple[int, ...], float]:
        """Working hours, days and UTC offset: reps that share it can share one queue."""
        return (self.start_hour, self.end_hour, tuple(sorted(self.workdays)), self.utc_offset_hours)


def _default_tier_roles() -> dict[str, tuple[str, ...]]:
    return {"A": ("ae", "sdr"), "B": ("sdr",)}


def _default_sla() -> dict[str, float]:
    return {"A": 2.0, "B": 24.0}


@dataclass(frozen=True)
class RoutingPolicy:
    """Which roles work each tier, in what priority, within which SLA, and where overflow goes."""

    tier_order: tuple[str, ...] = ("A", "B", "C", "D")
    """Tiers from highest to lowest priority; a queue serves a higher tier first, then by arrival."""
    tier_roles: Mapping[str, tuple[str, ...]] = field(default_factory=_default_tier_roles)
    """Roles that may own each routed tier, in order of preference; a tier not listed goes to nurture."""
    sla_hours: Mapping[str, float] = field(default_factory=_default_sla)
    """First-touch SLA per routed tier, in hours (DOMAIN: hot 2 h, warm 24 h)."""
    overflow_roles: tuple[str, ...] = ("manager",)
    """Roles that take any routed tier when the owners cannot make its SLA."""
    overflow_after_hours: Mapping[str, float] | None = None
    """A lead moves to the next rep of its chain when the owner's queue would first-touch it later than
    this many hours after arrival; None means the tier's SLA."""

    def __post_init__(self) -> None:
        problems = []
        for tier, roles in self.tier_roles.items():
            if tier not in self.tier_order:
                problems.append(f"tier_roles has tier {tier!r}, not in tier_order {list(self.tier_order)}")
            if tier not in self.sla_hours:
                problems.append(f"tier {tier!r} is routed but has no sla_hours entry")
            bad = [r for r in (*roles, *self.overflow_roles) if r not in _ROLES]
            if bad:
                problems.append(f"roles {bad} for tier {tier!r} are not among {list(_ROLES)}")
        if any(h <= 0 for h in self.sla_hours.values()):
            problems.append(f"sla_hours must be positive, got {dict(self.sla_hours)}")
        if problems:
            raise SettingsError("RoutingPolicy: " + "; ".join(problems))

    def escalation_hours(self, tier: str) -> float:
        """Hours of predicted wait after which a lead of `tier` overflows to the next rep."""
        if self.overflow_after_hours is not None and tier in self.overflow_after_hours:
            return float(self.overflow_after_hours[tier])
        return float(self.sla_hours[tier])


def rep_team(sdrs: int, aes: int = 0, managers: int = 0, *, sdr_capacity: int = 20, ae_capacity: int = 8,
             manager_capacity: int = 10, start_hour: float = 9.0, end_hour: float = 17.0,
             utc_offset_hours: float = 0.0) -> tuple[Rep, ...]:
    """A team of SDRs, AEs and managers covering every segment with the same working hours.

    Args:
        sdrs, aes, managers: head count per role.
        sdr_capacity, ae_capacity, manager_capacity: first touches per working day per rep of the role.
        start_hour, end_hour, utc_offset_hours: shared local working hours (weekdays).

    Returns:
        Reps with ids "SDR01", "AE01", "MGR01", ... in that order.
    """
    spec = (("SDR", "sdr", sdrs, sdr_capacity), ("AE", "ae", aes, ae_capacity),
            ("MGR", "manager", managers, manager_capacity))
    return tuple(
        Rep(f"{prefix}{i + 1:02d}", role, capacity, (), start_hour, end_hour, (0, 1, 2, 3, 4), utc_offset_hours)
        for prefix, role, count, capacity in spec for i in range(count)
    )
