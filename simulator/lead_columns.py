"""A funnel's lead columns as codes straight from its draws: what scoring reads, without the leads frame.

    columns = DrawnLeadColumns(funnel)      # == ColumnCodes(with_email_domain(funnel.leads)), answer for answer
    totals = score_totals(columns, funnel.event_draw.arrays(len(columns)), created_days, model)

Every answer is the frame's: a text column's codes are its draw codes renumbered in order of first
appearance (pd.factorize's order), equal strings sharing a code, with the same distinct values; email_domain
comes from the account, free-mail or competitor domain each lead's address was drawn with (no address is
built or parsed); employees and annual_revenue are the frame's numbers. Columns it has no draws for (email,
campaign, created_at), and `numbers` of a text column, come from the leads frame, built on first use, so a
model whose rules read only the coded columns never builds a string per lead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from scoring.columns import LEAD_COLUMNS
from scoring.matchers import ColumnCodes, email_domains, with_email_domain
from simulator._sampling import BoolArray, IntArray, padded_ids
from simulator.funnel import Funnel
from simulator.population import created_timestamps, lead_numbers
from simulator.vocabulary import DEPARTMENTS, INDUSTRIES, SEGMENTS, SENIORITIES, SOURCES

__all__ = ["DrawnLeadColumns"]

_COLUMNS = frozenset((*LEAD_COLUMNS, "email_domain"))
_NUMERIC = ("employees", "annual_revenue")

Coded = tuple[np.ndarray, np.ndarray]


def _coded(vocabulary: Sequence[str | None] | np.ndarray, code: IntArray, missing: BoolArray | None = None,
           ) -> Coded:
    """pd.factorize of vocabulary[code] (None in the vocabulary or `missing` = no value), from the codes alone:
    (codes in order of first appearance, -1 for no value; distinct values as an object array)."""
    index, distinct = pd.factorize(np.asarray(vocabulary, dtype=object), use_na_sentinel=True)
    key = np.where(index < 0, np.nan, index.astype(np.float64))[code]  # equal strings share one key
    if missing is not None:
        key[missing] = np.nan
    codes, first = pd.factorize(key, use_na_sentinel=True)
    return codes, np.asarray(distinct, dtype=object)[first.astype(np.int64)]


class DrawnLeadColumns(ColumnCodes):
    """`ColumnCodes(with_email_domain(funnel.leads))` computed from the funnel's draws; the leads frame is built
    only for a column without draws (email, campaign, created_at) or for `numbers` of a text column."""

    def __init__(self, funnel: Funnel) -> None:  # the frame of ColumnCodes.__init__ is built on first use
        self._funnel = funnel
        self._codes: dict[str, Coded] = {}
        self._numbers: dict[str, np.ndarray] = {}
        draws = funnel.draws
        accounts, contacts, spec = draws.accounts, draws.contacts, funnel.spec
        account = contacts.account
        missing = contacts.missing
        self._coders: dict[str, Callable[[], Coded]] = {
            "lead_id": lambda: (np.arange(spec.n_leads, dtype=np.intp), funnel.lead_ids.astype(object)),
            "account_id": lambda: _coded(accounts.frame["account_id"].to_numpy(), account),
            "title": lambda: _coded([t[0] for t in spec.titles], contacts.title, missing["title"]),
            "seniority": lambda: _coded(SENIORITIES, contacts.seniority),
            "department": lambda: _coded(DEPARTMENTS, contacts.department),
            "industry": lambda: _coded(INDUSTRIES, accounts.industry[account], missing["industry"]),
            "country": lambda: _coded(accounts.frame["country"].to_numpy(), account),
            "source": lambda: _coded(SOURCES, contacts.source),
            "segment": lambda: _coded(SEGMENTS, accounts.segment[account]),
            "owner_id": lambda: _coded(padded_ids("U", 3, spec.n_owners), contacts.owner),
            "email_domain": self._email_domain_codes,
        }

    @cached_property
    def leads(self) -> pd.DataFrame:
        """with_email_domain(funnel.leads), built on first use."""
        return with_email_domain(self._funnel.leads)

    @property
    def built_leads(self) -> bool:
        """True once the leads frame has been built (for a column without draws)."""
        return "leads" in self.__dict__

    def __len__(self) -> int:
        return self._funnel.spec.n_leads

    def has(self, column: str) -> bool:
        """True for the columns of with_email_domain(funnel.leads): LEAD_COLUMNS and email_domain."""
        return column in _COLUMNS

    @cached_property
    def created_ns(self) -> IntArray:
        """created_at per lead as nanoseconds since the epoch (UTC), as `leads["created_at"]` holds it."""
        draws = self._funnel.draws
        created = pd.Series(created_timestamps(self._funnel.spec, draws.created))
        return created.to_numpy("datetime64[ns]").view(np.int64)

    def _factorized(self, column: str) -> Coded:
        if column in self._coders:
            return self._coders[column]()
        if column in _NUMERIC:
            return self._numeric_codes(column)
        return super()._factorized(column)

    def _numbers_of(self, column: str) -> np.ndarray:
        if column in _NUMERIC:
            draws = self._funnel.draws
            return lead_numbers(draws.accounts, draws.contacts, column)
        return super()._numbers_of(column)

    def _numeric_codes(self, column: str) -> Coded:
        codes, uniques = pd.factorize(self.numbers(column), use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)

    def _email_domain_codes(self) -> Coded:
        """email_domain from the domain each address was drawn with: the competitor's, the free-mail one or
        the account's (what follows an address's last '@' depends on its domain alone)."""
        draws, spec = self._funnel.draws, self._funnel.spec
        accounts, contacts = draws.accounts, draws.contacts
        n_accounts, n_free = accounts.domain.size, len(spec.free_mail_domains)
        drawn = np.concatenate([accounts.domain.astype(object), np.asarray(spec.free_mail_domains, dtype=object),
                                np.asarray(spec.competitor_domains, dtype=object)])
        domains = email_domains(np.strings.add("@", np.asarray(drawn, dtype=StringDType())))  # as an address reads
        email = contacts.email
        code = np.where(contacts.is_competitor, n_accounts + n_free + email.rival,
                        np.where(contacts.is_free_mail, n_accounts + email.free, contacts.account))
        return _coded(domains, code)
