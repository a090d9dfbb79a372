"""The office ledger: balanced journal entries of payments, refunds, remittances and interest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from ipdesk.accounts.models import Organisation

from ..channels import CHANNELS
from ..models import JournalEntry, JournalLine, LedgerAccount, Payment, Refund


def post_journal(
    *,
    office: Organisation,
    posted_on: dt.date,
    memo: str,
    lines: Sequence[tuple[str, Decimal, Decimal]],
    payment: Payment | None = None,
    refund: Refund | None = None,
) -> JournalEntry:
    """A balanced entry: ``lines`` are (account, debit, credit); debits must equal credits."""
    debits = sum((d for _a, d, _c in lines), Decimal("0"))
    credits = sum((c for _a, _d, c in lines), Decimal("0"))
    if debits != credits or debits <= 0:
        raise ValueError(f"unbalanced journal entry: debits {debits} credits {credits}")
    entry = JournalEntry.objects.create(
        office=office, posted_on=posted_on, memo=memo[:200], payment=payment, refund=refund
    )
    JournalLine.objects.bulk_create(
        JournalLine(entry=entry, account=account, debit=debit, credit=credit)
        for account, debit, credit in lines
    )
    return entry


def post_payment(payment: Payment) -> None:
    """Post a reviewed payment (or reversal): its money against fees payable to the office."""
    money = CHANNELS[payment.channel].money_account
    amount = abs(payment.total)
    # Dated on its bookkeeping day, not the review day, so that the ledger, the daily
    # reports and the monthly statement all count an entry in the same day and month.
    day = payment.booked_on
    if payment.total > 0:
        lines = [(money, amount, Decimal("0")), (LedgerAccount.FEES_PAYABLE, Decimal("0"), amount)]
    else:
        lines = [(LedgerAccount.FEES_PAYABLE, amount, Decimal("0")), (money, Decimal("0"), amount)]
    post_journal(
        office=payment.office,
        posted_on=day,
        memo=f"{payment.entry_kind} {payment.application_number}",
        lines=lines,
        payment=payment,
    )
