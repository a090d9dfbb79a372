"""A stateful test of bookkeeping: random bookings, reviews, corrections and refunds.

The machine keeps its own model of what it has done (volumes, entries, refunds) and,
after every step, checks the office's books against it and against the database rows:

1. the ledger balances, overall and per journal entry, and carries exactly one posting per
   reviewed entry and per approved refund;
2. each day's report (日结单, 汇总表1/2) equals the reviewed entries summed independently;
3. nothing booked ever changes: only the workflow fields (status, review) of a payment, the
   override approver of a line and the decision of a refund move;
4. refunds never exceed what was paid, per entry and per correction chain, and a payment's
   money stands once in its chain (a corrected entry offset by its reversal); the audit
   chain verifies.

Refused actions (four eyes, closed volumes, over-refunds, …) must raise the project's domain
errors and change nothing at all.

Each Hypothesis example runs inside a savepoint that ``teardown`` rolls back, so every
example starts from the same empty office. (``hypothesis.extra.django.TestCase`` resets the
database through ``setup_example``/``teardown_example`` hooks that are looked up on the
test's ``self``; a state machine run is not such a test, so the machine does it itself.)
The clock is set to a fixed working day, and examples are drawn derandomized, so that every
run, on any day, books and checks the same things.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.audit.selectors import chain_head, verify_chain
from ipdesk.collection import selectors, services
from ipdesk.collection.models import (
    Channel,
    EntryKind,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Payment,
    PaymentLine,
    PaymentStatus,
    Refund,
    RefundStatus,
    Volume,
    VolumeKind,
    VolumeStatus,
)
from ipdesk.core.calendar import calendar
from ipdesk.core.errors import Conflict, DomainError, InvalidInput, NotAllowed
from ipdesk.tariff.services import QuoteRequest, quote_fees
from ipdesk.testing import PERSON_ID, UNIT_CODE, application_number, organisation, user

from .conftest import booking

pytestmark = pytest.mark.django_db

# "Today" for the whole run: a working day of a year the packaged calendar knows, so that
# the bookkeeping deadlines of bank and post remittances are computed, not refused.
DAY = dt.date(2026, 3, 10)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Fees that apply to each patent kind (the application number's type digit), with a
# fee-reduction percentage: (fee code, reduction).
FEES: dict[int, list[tuple[str, int]]] = {
    1: [
        ("application", 0),
        ("application", 85),
        ("examination", 0),
        ("examination", 85),
        ("publication_printing", 0),
        ("priority", 0),
    ],
    2: [("application", 0), ("application", 85), ("evaluation_report", 0), ("reexamination", 85)],
    3: [("application", 0), ("reexamination", 0), ("certified_copy", 0), ("suspension", 0)],
}
BOOKING_STAFF = ("zhang", "zhao", "li")  # two collectors, and a reviewer who also books
REVIEWERS = ("li", "wang")
CHANNEL_OF = {
    VolumeKind.COUNTER: Channel.COUNTER,
    VolumeKind.BANK: Channel.BANK,
    VolumeKind.POST: Channel.POST,
}
KIND_OF = {channel: kind for kind, channel in CHANNEL_OF.items()}

# Fields of a payment that are workflow state; every other field is a booked fact.
PAYMENT_WORKFLOW = {"status", "reviewed_by_id", "reviewed_at", "review_note"}
LINE_WORKFLOW = {"override_by_id"}
REFUND_WORKFLOW = {"status", "decided_by_id", "decided_at", "decided_on"}
VOLUME_WORKFLOW = {"status", "closed_at", "reviewed_by_id", "reviewed_at"}

picks = st.integers(min_value=0, max_value=10_000)
fee_picks = st.tuples(
    st.sampled_from(sorted(FEES)),
    st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=3),
    st.sampled_from((False, False, False, True)),  # a documented override on the first line
)
date_offsets = st.tuples(
    st.integers(min_value=0, max_value=3),  # arrived this many days before DAY
    st.integers(min_value=0, max_value=6),  # remitted / postmarked this many days earlier
    st.one_of(st.none(), st.integers(min_value=0, max_value=8)),  # info completed / resent
)
payers = st.sampled_from(("individual", "unit"))
serials = st.integers(min_value=1, max_value=9_999_999)
bookings = st.tuples(fee_picks, date_offsets, payers, serials)
Fees = tuple[int, list[int], bool]
Offsets = tuple[int, int, int | None]
Booking = tuple[Fees, Offsets, str, int]
# Refusals to attempt, in an order drawn for each attempt; those the state always allows
# come last here, where the drawn orders leave them less often in front.
REFUSALS = (
    "_refuse_review_by_collector",
    "_refuse_review_of_open_volume",
    "_refuse_refund_beyond_what_is_left",
    "_refuse_refund_or_correction_of_what_is_not_reviewed",
    "_refuse_correction_without_reason",
    "_refuse_deciding_a_refund_twice_or_alone",
    "_refuse_booking_into_closed_volume",
    "_refuse_booking_into_an_earlier_day",
    "_refuse_booking_by_outsider_or_off_schedule",
)


@dataclass
class VolumeModel:
    pk: int
    kind: str
    day: dt.date
    number: int
    status: str = VolumeStatus.OPEN


@dataclass
class EntryModel:
    pk: int
    volume: int
    channel: str
    entry_kind: str
    status: str
    total: Decimal
    lines: list[tuple[str, int, Decimal]]  # fee code, quantity, amount
    entered_by: str
    booked_on: dt.date
    payment_date: dt.date
    overridden: bool
    corrects: int | None = None


@dataclass
class RefundModel:
    pk: int
    payment: int
    amount: Decimal
    reason: str
    requested_by: str
    status: str = RefundStatus.REQUESTED
    decided_on: dt.date | None = None


@dataclass
class Expected:
    """A planned booking and what the service must make of it."""

    data: services.BookingData
    lines: list[tuple[str, int, Decimal]] = field(default_factory=list)
    total: Decimal = ZERO
    overridden: bool = False
    payment_date: dt.date | None = None
    rule: str = ""
    late: bool = False


def _rows(model: Any, exclude: set[str] | None = None) -> dict[int, tuple[Any, ...]]:
    out = {}
    for row in model.objects.order_by("pk").values():
        pk = row["id"]
        out[pk] = tuple(sorted((k, v) for k, v in row.items() if k not in (exclude or set())))
    return out


def _payment_facts(pk: int | None = None) -> dict[int, tuple[Any, ...]]:
    """The booked facts of payments: every field but the workflow state, and their lines."""
    payments = Payment.objects.order_by("pk")
    lines = PaymentLine.objects.order_by("pk")
    if pk is not None:
        payments, lines = payments.filter(pk=pk), lines.filter(payment_id=pk)
    by_payment: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for line in lines.values():
        by_payment[line["payment_id"]].append(
            tuple(sorted((k, v) for k, v in line.items() if k not in LINE_WORKFLOW))
        )
    return {
        row["id"]: (
            tuple(sorted((k, v) for k, v in row.items() if k not in PAYMENT_WORKFLOW)),
            tuple(by_payment[row["id"]]),
        )
        for row in payments.values()
    }


class CollectionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        try:
            self.office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ", name="北京代办处")
            self.users = {
                "zhang": user(Role.COLLECTOR, "zhang", org=self.office),
                "zhao": user(Role.COLLECTOR, "zhao", org=self.office),
                "li": user(Role.REVIEWER, "li", org=self.office),
                "wang": user(Role.REVIEWER, "wang", org=self.office),
            }
            other = organisation(OrganisationKind.AGENCY_OFFICE, "SH", name="上海代办处")
            self.outsider = user(Role.COLLECTOR, "chen", org=other)
        except BaseException:
            self.teardown()
            raise
        self.volumes: dict[int, VolumeModel] = {}
        self.entries: dict[int, EntryModel] = {}
        self.refunds: dict[int, RefundModel] = {}
        self.facts: dict[int, tuple[Any, ...]] = {}
        self.refund_facts: dict[int, tuple[Any, ...]] = {}
        self.volume_facts: dict[int, tuple[Any, ...]] = {}
        self.journal: dict[int, tuple[Any, ...]] = {}
        self.journal_lines: dict[int, tuple[Any, ...]] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers -----------------------------------------------------------------------

    def _open(self, kind: str | None = None, day: dt.date | None = None) -> list[VolumeModel]:
        return [
            v
            for v in self.volumes.values()
            if v.status == VolumeStatus.OPEN
            and (kind is None or v.kind == kind)
            and (day is None or v.day == day)
        ]

    def _with_status(self, *statuses: str) -> list[EntryModel]:
        return [e for e in self.entries.values() if e.status in statuses]

    def _refundable_entries(self) -> list[EntryModel]:
        return [
            e
            for e in self.entries.values()
            if e.status == PaymentStatus.REVIEWED and e.entry_kind != EntryKind.REVERSAL
        ]

    def _chain(self, entry: EntryModel) -> list[EntryModel]:
        """The entry and those it corrects or replaces, back to the first booking."""
        out = [entry]
        while out[-1].corrects is not None:
            out.append(self.entries[out[-1].corrects])
        return out

    def _root(self, entry: EntryModel) -> int:
        return self._chain(entry)[-1].pk

    def _taken(self, entry: EntryModel) -> Decimal:
        """Refunds asked or paid (not rejected) on the entry and everything it replaced."""
        chain = {e.pk for e in self._chain(entry)}
        return sum(
            (
                r.amount
                for r in self.refunds.values()
                if r.payment in chain and r.status != RefundStatus.REJECTED
            ),
            ZERO,
        )

    def _left(self, entry: EntryModel) -> Decimal:
        return entry.total - self._taken(entry)

    def _fingerprint(self) -> tuple[Any, ...]:
        return (
            _rows(Volume),
            _rows(Payment),
            _rows(PaymentLine),
            _rows(Refund),
            _rows(JournalEntry),
            _rows(JournalLine),
            chain_head(),
        )

    def _refused(self, error: type[DomainError], call: Any, code: str | None = None) -> None:
        before = self._fingerprint()
        with pytest.raises(error) as caught:
            call()
        if code is not None:
            assert caught.value.code == code
        assert self._fingerprint() == before, "a refused action changed something"

    def _plan(
        self,
        channel: str,
        fees: Fees,
        offsets: Offsets,
        payer: str,
        serial: int,
        paid_on: dt.date | None = None,
    ) -> Expected:
        """Booking data with the schedule's amounts, and the payment date it must get."""
        kind_digit, fee_indexes, override = fees
        arrived, earlier, later = offsets
        received = DAY if channel == Channel.COUNTER else DAY - dt.timedelta(days=arrived)
        sent = received - dt.timedelta(days=earlier)
        dates = services.ChannelDates(received_on=received)
        late = False
        if channel == Channel.COUNTER:
            day, rule_name = received, "counter_day"
        elif channel == Channel.BANK:
            info = None if later is None else min(sent + dt.timedelta(days=later), DAY)
            dates = services.ChannelDates(
                received_on=received, remitted_on=sent, info_complete_on=info
            )
            if info is None or info == sent:
                day, rule_name = sent, "bank_transfer"
            else:
                day, rule_name = info, "bank_info_completed"
            complete = max(received, info or received)
            late = calendar.add_working_days(complete, 1) < DAY
        else:
            second = None if later is None else min(sent + dt.timedelta(days=later), received)
            dates = services.ChannelDates(
                received_on=received, postmarked_on=sent, second_postmarked_on=second
            )
            day, rule_name = (second, "second_postmark") if second else (sent, "postmark")
            late = calendar.add_working_days(received, 1) < DAY
        priced_on = paid_on or day
        lines: list[services.LineData] = []
        expected = Expected(
            data=services.BookingData(
                channel=channel,
                payer=services.PayerData(
                    name="陈发明" if payer == "individual" else "某某科技有限公司",
                    kind=payer,
                    id_code=PERSON_ID if payer == "individual" else UNIT_CODE,
                ),
                application_number=application_number(type_digit=kind_digit, serial=serial),
                lines=lines,
                dates=dates,
            ),
            payment_date=day,
            rule=rule_name,
            late=late,
        )
        patent_kind = {1: "invention", 2: "utility_model", 3: "design"}[kind_digit]
        for position, index in enumerate(fee_indexes):
            code, reduction = FEES[kind_digit][index % len(FEES[kind_digit])]
            tariff = quote_fees(
                QuoteRequest(
                    patent_kind=patent_kind, fee_code=code, reduction=reduction, paid_on=priced_on
                )
            ).total
            amount, reason = tariff, ""
            if override and position == 0:
                amount, reason = tariff + Decimal("10.00"), "court order 12"
                expected.overridden = True
            lines.append(
                services.LineData(
                    fee_code=code, amount=str(amount), reduction=reduction, override_reason=reason
                )
            )
            expected.lines.append((code, 1, amount))
        expected.total = sum((amount for _c, _q, amount in expected.lines), ZERO)
        return expected

    def _record_booking(self, payment: Payment, expected: Expected, actor: str) -> EntryModel:
        assert payment.total == expected.total
        assert payment.payment_date == expected.payment_date
        assert payment.payment_date_rule == expected.rule
        assert payment.booked_late == expected.late
        assert payment.status == PaymentStatus.ENTERED
        lines = [
            (line.fee_type.code, line.quantity, line.amount)
            for line in payment.lines.order_by("pk").select_related("fee_type")
        ]
        assert lines == expected.lines
        entry = EntryModel(
            pk=payment.pk,
            volume=payment.volume_id,
            channel=payment.channel,
            entry_kind=payment.entry_kind,
            status=PaymentStatus.ENTERED,
            total=payment.total,
            lines=lines,
            entered_by=actor,
            booked_on=payment.booked_on,
            payment_date=payment.payment_date,
            overridden=expected.overridden,
            corrects=payment.corrects_id,
        )
        self.entries[payment.pk] = entry
        self.facts |= _payment_facts(payment.pk)
        return entry

    def _volume_seen(self, volume: Volume) -> VolumeModel:
        if volume.pk not in self.volumes:
            same = [
                v.number
                for v in self.volumes.values()
                if (v.kind, v.day) == (volume.kind, volume.day)
            ]
            assert volume.number == max(same, default=0) + 1
            assert volume.status == VolumeStatus.OPEN
            self.volumes[volume.pk] = VolumeModel(volume.pk, volume.kind, volume.day, volume.number)
            self.volume_facts[volume.pk] = _rows(Volume, VOLUME_WORKFLOW)[volume.pk]
        return self.volumes[volume.pk]

    # --- rules: volumes and bookings ---------------------------------------------------

    @initialize(
        kind=st.sampled_from(sorted(CHANNEL_OF)),
        bookings=st.lists(bookings, min_size=1, max_size=3),
        collector=st.sampled_from(("zhang", "zhao")),
        reviewer=st.sampled_from(REVIEWERS),
    )
    def reviewed_volume(
        self, kind: str, bookings: list[Booking], collector: str, reviewer: str
    ) -> None:
        """Start from a volume booked, closed and reviewed: work to correct and refund."""
        for planned in bookings:
            self.book(kind, collector, *planned)
        volume = self._open(kind, DAY)[0]
        self._close(volume, collector)
        self._review_volume(volume, reviewer, approve=True)
        assert volume.status == VolumeStatus.REVIEWED

    @rule(
        kind=st.sampled_from(sorted(CHANNEL_OF)),
        actor=st.sampled_from(BOOKING_STAFF),
        fees=fee_picks,
        offsets=date_offsets,
        payer=payers,
        serial=serials,
    )
    def book(
        self,
        kind: str,
        actor: str,
        fees: Fees,
        offsets: Offsets,
        payer: str,
        serial: int,
    ) -> None:
        """Book into the day's open volume of a channel, opening the next one if none is."""
        already = self._open(kind, DAY)
        volume = services.open_volume(
            office=self.office, kind=kind, day=DAY, actor=self.users[actor]
        )
        if already:
            assert volume.pk == already[0].pk
        self._volume_seen(volume)
        expected = self._plan(CHANNEL_OF[kind], fees, offsets, payer, serial)
        payment = services.book_payment(volume=volume, data=expected.data, actor=self.users[actor])
        entry = self._record_booking(payment, expected, actor)
        assert entry.entry_kind == EntryKind.PAYMENT and entry.booked_on == DAY

    @precondition(lambda self: bool(self._open()))
    @rule(pick=picks, actor=st.sampled_from(BOOKING_STAFF))
    def close_volume(self, pick: int, actor: str) -> None:
        candidates = self._open()
        self._close(candidates[pick % len(candidates)], actor)

    def _close(self, volume: VolumeModel, actor: str) -> None:
        closed = services.close_volume(Volume.objects.get(pk=volume.pk), actor=self.users[actor])
        assert closed.status == VolumeStatus.CLOSED
        volume.status = VolumeStatus.CLOSED

    # --- rules: review -----------------------------------------------------------------

    def _reviewable(self) -> list[VolumeModel]:
        """Closed volumes, and open ones with entries (their collector closes them first)."""
        waiting = {e.volume for e in self._with_status(PaymentStatus.ENTERED)}
        return [
            v
            for v in self.volumes.values()
            if v.status == VolumeStatus.CLOSED
            or (v.status == VolumeStatus.OPEN and v.pk in waiting)
        ]

    @precondition(lambda self: bool(self._reviewable()))
    @rule(
        mode=st.sampled_from(("volume", "payment", "send_back")),
        pick=picks,
        reviewer=st.sampled_from(REVIEWERS),
        approve=st.booleans(),
    )
    def review(self, mode: str, pick: int, reviewer: str, approve: bool) -> None:
        """Review a volume whole, or one of its entries, or send an entry back."""
        volumes = self._reviewable()
        volume = volumes[pick % len(volumes)]
        if volume.status == VolumeStatus.OPEN:
            self._close(volume, "zhang")
        waiting = [e for e in self._with_status(PaymentStatus.ENTERED) if e.volume == volume.pk]
        if mode == "volume" or not waiting:
            self._review_volume(volume, reviewer, approve)
            return
        entry = waiting[pick % len(waiting)]
        payment = Payment.objects.get(pk=entry.pk)
        if mode == "send_back":
            call = partial(
                services.send_back, payment, actor=self.users[reviewer], note="wrong number"
            )
        else:
            call = partial(
                services.review_payment,
                payment,
                actor=self.users[reviewer],
                approve_overrides=approve,
            )
        if entry.entered_by == reviewer:
            self._refused(NotAllowed, call, code="four_eyes")
            return
        if mode == "send_back" and entry.entry_kind == EntryKind.REVERSAL:
            self._refused(Conflict, call)
            return
        if mode == "send_back":
            sent_back = call()
            assert sent_back.status == PaymentStatus.SENT_BACK
            entry.status = PaymentStatus.SENT_BACK
        elif entry.overridden and not approve:
            self._refused(Conflict, call, code="override_needs_approval")
            return
        else:
            reviewed = call()
            assert reviewed.status == PaymentStatus.REVIEWED
            assert reviewed.reviewed_by == self.users[reviewer]
            entry.status = PaymentStatus.REVIEWED
        if len(waiting) == 1:  # that was the last entry awaiting review
            volume.status = VolumeStatus.REVIEWED

    def _review_volume(self, volume: VolumeModel, reviewer: str, approve: bool) -> None:
        waiting = [e for e in self._with_status(PaymentStatus.ENTERED) if e.volume == volume.pk]
        call = partial(
            services.review_volume,
            Volume.objects.get(pk=volume.pk),
            actor=self.users[reviewer],
            approve_overrides=approve,
        )
        # Entries are reviewed in the order they were booked; the first that cannot be
        # refuses the whole volume, even when those before it could be reviewed.
        for entry in sorted(waiting, key=lambda e: e.pk):
            if entry.entered_by == reviewer:
                self._refused(NotAllowed, call, code="four_eyes")
                return
            if entry.overridden and not approve:
                self._refused(Conflict, call, code="override_needs_approval")
                return
        result = call()
        assert result.status == VolumeStatus.REVIEWED
        assert result.reviewed_by == self.users[reviewer]
        for entry in waiting:
            entry.status = PaymentStatus.REVIEWED
        volume.status = VolumeStatus.REVIEWED

    @precondition(lambda self: bool(self._with_status(PaymentStatus.SENT_BACK)))
    @rule(
        pick=picks,
        actor=st.sampled_from(BOOKING_STAFF),
        fees=fee_picks,
        offsets=date_offsets,
        payer=payers,
        serial=serials,
    )
    def reenter(
        self,
        pick: int,
        actor: str,
        fees: Fees,
        offsets: Offsets,
        payer: str,
        serial: int,
    ) -> None:
        candidates = self._with_status(PaymentStatus.SENT_BACK)
        original = candidates[pick % len(candidates)]
        kind = KIND_OF[original.channel]
        volume = services.open_volume(
            office=self.office, kind=kind, day=DAY, actor=self.users[actor]
        )
        self._volume_seen(volume)
        expected = self._plan(original.channel, fees, offsets, payer, serial)
        call = partial(
            services.reenter_payment,
            Payment.objects.get(pk=original.pk),
            volume=volume,
            data=expected.data,
            actor=self.users[actor],
        )
        if expected.total < self._taken(original):
            # A sent-back replacement of a refunded payment: the refunds go on with it.
            self._refused(InvalidInput, call)
            return
        replacement = call()
        assert replacement.entry_kind == EntryKind.REPLACEMENT
        assert replacement.corrects_id == original.pk
        self._record_booking(replacement, expected, actor)
        original.status = PaymentStatus.VOID

    # --- rules: corrections ------------------------------------------------------------

    @precondition(
        lambda self: any(
            e.entry_kind != EntryKind.REVERSAL for e in self._with_status(PaymentStatus.REVIEWED)
        )
    )
    @rule(
        pick=picks,
        actor=st.sampled_from(BOOKING_STAFF),
        fees=fee_picks,
        payer=payers,
        serial=serials,
        cause=st.sampled_from(("office_error", "payer_error")),
    )
    def correct(
        self,
        pick: int,
        actor: str,
        fees: Fees,
        payer: str,
        serial: int,
        cause: str,
    ) -> None:
        candidates = [
            e
            for e in self._with_status(PaymentStatus.REVIEWED)
            if e.entry_kind != EntryKind.REVERSAL
        ]
        original = candidates[pick % len(candidates)]
        expected = self._plan(
            Channel.COUNTER, fees, (0, 0, None), payer, serial, paid_on=original.payment_date
        )
        call = partial(
            services.correct_payment,
            Payment.objects.get(pk=original.pk),
            data=expected.data,
            reason="digits of the application number swapped",
            cause=cause,
            actor=self.users[actor],
        )
        if expected.total < self._taken(original):
            # The money asked back stays asked back: the replacement must still carry it.
            self._refused(InvalidInput, call)
            return
        reversal, replacement = call()
        volume = self._volume_seen(reversal.volume)
        assert volume.kind == VolumeKind.CORRECTION and replacement.volume_id == volume.pk
        # The reversal mirrors the original exactly, with the opposite sign.
        assert reversal.entry_kind == EntryKind.REVERSAL and reversal.corrects_id == original.pk
        assert reversal.total == -original.total
        reversed_lines = [
            (line.fee_type.code, line.quantity, line.amount)
            for line in reversal.lines.order_by("pk").select_related("fee_type")
        ]
        assert reversed_lines == [(code, -q, -amount) for code, q, amount in original.lines]
        self.entries[reversal.pk] = EntryModel(
            pk=reversal.pk,
            volume=volume.pk,
            channel=original.channel,
            entry_kind=EntryKind.REVERSAL,
            status=PaymentStatus.ENTERED,
            total=reversal.total,
            lines=reversed_lines,
            entered_by=actor,
            booked_on=reversal.booked_on,
            payment_date=original.payment_date,
            overridden=original.overridden,
            corrects=original.pk,
        )
        self.facts |= _payment_facts(reversal.pk)
        # The replacement keeps the original's payment date and channel.
        assert replacement.entry_kind == EntryKind.REPLACEMENT
        assert replacement.corrects_id == original.pk
        assert replacement.channel == original.channel
        expected.payment_date, expected.rule, expected.late = (
            original.payment_date,
            "correction",
            False,
        )
        self._record_booking(replacement, expected, actor)
        original.status = PaymentStatus.CORRECTED

    # --- rules: refunds ----------------------------------------------------------------

    @precondition(lambda self: any(self._left(e) > 0 for e in self._refundable_entries()))
    @rule(
        pick=picks,
        actor=st.sampled_from((*BOOKING_STAFF, "wang")),
        share=st.integers(min_value=1, max_value=100),
        reason=st.sampled_from(("wrong_payment", "duplicate", "overpayment")),
    )
    def request_refund(self, pick: int, actor: str, share: int, reason: str) -> None:
        candidates = [e for e in self._refundable_entries() if self._left(e) > 0]
        entry = candidates[pick % len(candidates)]
        amount = max(CENT, (self._left(entry) * share / 100).quantize(CENT, rounding=ROUND_DOWN))
        refund = services.request_refund(
            payment=Payment.objects.get(pk=entry.pk),
            amount=str(amount),
            reason=reason,
            actor=self.users[actor],
        )
        assert refund.amount == amount and refund.status == RefundStatus.REQUESTED
        self.refunds[refund.pk] = RefundModel(refund.pk, entry.pk, amount, reason, actor)
        self.refund_facts[refund.pk] = _rows(Refund, REFUND_WORKFLOW)[refund.pk]

    @precondition(
        lambda self: any(r.status == RefundStatus.REQUESTED for r in self.refunds.values())
    )
    @rule(pick=picks, decider=st.sampled_from(REVIEWERS), approve=st.booleans())
    def decide_refund(self, pick: int, decider: str, approve: bool) -> None:
        candidates = [r for r in self.refunds.values() if r.status == RefundStatus.REQUESTED]
        model = candidates[pick % len(candidates)]
        refund = Refund.objects.get(pk=model.pk)
        call = partial(services.decide_refund, refund, approve=approve, actor=self.users[decider])
        if model.requested_by == decider:
            self._refused(NotAllowed, call, code="four_eyes")
            return
        decided = call()
        model.status = RefundStatus.APPROVED if approve else RefundStatus.REJECTED
        model.decided_on = decided.decided_on
        assert decided.status == model.status

    # --- rules: actions that must be refused -------------------------------------------

    @rule(order=st.permutations(REFUSALS), pick=picks)
    def attempt_refused(self, order: list[str], pick: int) -> None:
        """Try something the rules forbid: the first refusal in ``order`` that the current
        state gives a chance to try (booking by an outsider always has one)."""
        for name in order:
            if getattr(self, name)(pick):
                return
        raise AssertionError("no refusal could be tried")

    def _refuse_review_by_collector(self, pick: int) -> bool:
        """Whoever entered a payment never reviews it; a collector never reviews at all."""
        candidates = [
            e
            for e in self._with_status(PaymentStatus.ENTERED)
            if self.volumes[e.volume].status == VolumeStatus.CLOSED
        ]
        if not candidates:
            return False
        entry = candidates[pick % len(candidates)]
        payment = Payment.objects.get(pk=entry.pk)
        actor = self.users[entry.entered_by]
        self._refused(NotAllowed, partial(services.review_payment, payment, actor=actor))
        self._refused(
            NotAllowed,
            partial(services.review_volume, payment.volume, actor=actor, approve_overrides=True),
        )
        self._refused(
            NotAllowed, partial(services.send_back, payment, actor=actor, note="my own mistake")
        )
        return True

    def _refuse_review_of_open_volume(self, pick: int) -> bool:
        candidates = [
            e
            for e in self._with_status(PaymentStatus.ENTERED)
            if self.volumes[e.volume].status == VolumeStatus.OPEN
        ]
        if not candidates:
            return False
        entry = candidates[pick % len(candidates)]
        reviewer = "wang" if entry.entered_by == "li" else "li"
        payment = Payment.objects.get(pk=entry.pk)
        self._refused(
            Conflict,
            partial(
                services.review_payment,
                payment,
                actor=self.users[reviewer],
                approve_overrides=True,
            ),
        )
        self._refused(
            Conflict, partial(services.review_volume, payment.volume, actor=self.users[reviewer])
        )
        return True

    def _refuse_booking_into_closed_volume(self, pick: int) -> bool:
        candidates = [
            v
            for v in self.volumes.values()
            if v.status != VolumeStatus.OPEN and v.kind in CHANNEL_OF
        ]
        if not candidates:
            return False
        volume = Volume.objects.get(pk=candidates[pick % len(candidates)].pk)
        expected = self._plan(
            CHANNEL_OF[volume.kind], (1, [0], False), (0, 0, None), "unit", pick + 1
        )
        actor = self.users[BOOKING_STAFF[pick % len(BOOKING_STAFF)]]
        self._refused(
            Conflict, partial(services.book_payment, volume=volume, data=expected.data, actor=actor)
        )
        self._refused(Conflict, partial(services.close_volume, volume, actor=actor))
        return True

    def _refuse_booking_into_an_earlier_day(self, pick: int) -> bool:
        """An entry is booked on the day it is entered, never into an earlier day's volume."""
        kind = sorted(CHANNEL_OF)[pick % len(CHANNEL_OF)]
        volume = services.open_volume(
            office=self.office, kind=kind, day=DAY - dt.timedelta(days=1), actor=self.users["zhao"]
        )
        self._volume_seen(volume)
        expected = self._plan(CHANNEL_OF[kind], (3, [pick], False), (0, 0, None), "unit", pick + 1)
        self._refused(
            Conflict,
            partial(
                services.book_payment, volume=volume, data=expected.data, actor=self.users["zhao"]
            ),
            code="volume_not_today",
        )
        return True

    def _refuse_booking_by_outsider_or_off_schedule(self, pick: int) -> bool:
        candidates = [v for v in self.volumes.values() if v.kind in CHANNEL_OF]
        if not candidates:
            return False
        volume = Volume.objects.get(pk=candidates[pick % len(candidates)].pk)
        channel = CHANNEL_OF[volume.kind]
        expected = self._plan(channel, (2, [pick], False), (0, 0, None), "unit", pick + 1)
        self._refused(
            NotAllowed,
            partial(services.book_payment, volume=volume, data=expected.data, actor=self.outsider),
        )
        line = expected.data.lines[0]
        wrong = services.BookingData(
            channel=channel,
            payer=expected.data.payer,
            application_number=expected.data.application_number,
            lines=[services.LineData(fee_code=line.fee_code, amount="1.00")],
            dates=expected.data.dates,
        )
        self._refused(
            InvalidInput,
            partial(services.book_payment, volume=volume, data=wrong, actor=self.users["zhang"]),
        )
        return True

    def _refuse_refund_beyond_what_is_left(self, pick: int) -> bool:
        candidates = self._refundable_entries()
        if not candidates:
            return False
        entry = candidates[pick % len(candidates)]
        amount = self._left(entry) + Decimal(pick + 1) * CENT
        self._refused(
            InvalidInput,
            partial(
                services.request_refund,
                payment=Payment.objects.get(pk=entry.pk),
                amount=str(amount),
                reason="overpayment",
                actor=self.users["zhang"],
            ),
        )
        return True

    def _refuse_refund_or_correction_of_what_is_not_reviewed(self, pick: int) -> bool:
        """Only a reviewed entry that stands (not corrected, not a reversal) is corrected or
        refunded."""
        candidates = [
            e
            for e in self.entries.values()
            if e.status != PaymentStatus.REVIEWED or e.entry_kind == EntryKind.REVERSAL
        ]
        if not candidates:
            return False
        payment = Payment.objects.get(pk=candidates[pick % len(candidates)].pk)
        self._refused(
            Conflict,
            partial(
                services.request_refund,
                payment=payment,
                amount="0.01",
                reason="overpayment",
                actor=self.users["zhang"],
            ),
        )
        data = self._plan(Channel.COUNTER, (1, [0], False), (0, 0, None), "unit", pick + 1).data
        self._refused(
            Conflict,
            partial(
                services.correct_payment,
                payment,
                data=data,
                reason="wrong",
                cause="office_error",
                actor=self.users["zhang"],
            ),
        )
        return True

    def _refuse_correction_without_reason(self, pick: int) -> bool:
        candidates = self._with_status(PaymentStatus.REVIEWED)
        if not candidates:
            return False
        payment = Payment.objects.get(pk=candidates[pick % len(candidates)].pk)
        data = self._plan(Channel.COUNTER, (1, [0], False), (0, 0, None), "unit", pick + 1).data
        self._refused(
            InvalidInput,
            partial(
                services.correct_payment,
                payment,
                data=data,
                reason="  ",
                cause="nobody",
                actor=self.users["zhang"],
            ),
        )
        return True

    def _refuse_deciding_a_refund_twice_or_alone(self, pick: int) -> bool:
        if not self.refunds:
            return False
        models = list(self.refunds.values())
        model = models[pick % len(models)]
        refund = Refund.objects.get(pk=model.pk)
        if model.status != RefundStatus.REQUESTED:
            decider = "wang" if model.requested_by != "wang" else "li"
            self._refused(
                Conflict,
                partial(services.decide_refund, refund, approve=True, actor=self.users[decider]),
            )
        if model.requested_by in REVIEWERS:
            alone = self.users[model.requested_by]
            self._refused(
                NotAllowed, partial(services.decide_refund, refund, approve=True, actor=alone)
            )
        # A collector never decides refunds.
        self._refused(
            NotAllowed,
            partial(services.decide_refund, refund, approve=True, actor=self.users["zhao"]),
        )
        return True

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def ledger_balances(self) -> None:
        per_entry: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for line in JournalLine.objects.filter(entry__office=self.office).values(
            "entry_id", "debit", "credit"
        ):
            assert (line["debit"] > 0) != (line["credit"] > 0)
            per_entry[line["entry_id"]][0] += line["debit"]
            per_entry[line["entry_id"]][1] += line["credit"]
        for entry_id, (debit, credit) in per_entry.items():
            assert debit == credit > 0, f"journal entry {entry_id}: {debit} != {credit}"
        assert set(per_entry) == set(
            JournalEntry.objects.filter(office=self.office).values_list("pk", flat=True)
        )
        debit, credit = selectors.ledger_totals(self.office)
        assert debit == credit == sum((d for d, _c in per_entry.values()), ZERO)
        # One posting per reviewed entry and per approved refund, and nothing else.
        postings: dict[tuple[str, int], Decimal] = {}
        for entry in JournalEntry.objects.filter(office=self.office).prefetch_related("lines"):
            key = ("payment", entry.payment_id) if entry.payment_id else ("refund", entry.refund_id)
            assert key[1] is not None and key not in postings
            fees = sum(
                (ln.credit - ln.debit for ln in entry.lines.all() if ln.account == "fees_payable"),
                ZERO,
            )
            postings[key] = fees
        expected = {("payment", e.pk): e.total for e in self._reviewed()}
        expected |= {
            ("refund", r.pk): -r.amount
            for r in self.refunds.values()
            if r.status == RefundStatus.APPROVED
        }
        assert postings == expected
        fees_payable = selectors.fees_payable(self.office)
        assert fees_payable == sum(expected.values(), ZERO)
        balances = selectors.ledger_balances(self.office)
        money = sum(
            (
                balances.get(account, (ZERO, ZERO))[0] - balances.get(account, (ZERO, ZERO))[1]
                for account in (LedgerAccount.CASH, LedgerAccount.BANK)
            ),
            ZERO,
        )
        assert money == fees_payable

    def _reviewed(self) -> list[EntryModel]:
        # A corrected entry was reviewed before it was corrected.
        return self._with_status(PaymentStatus.REVIEWED, PaymentStatus.CORRECTED)

    @invariant()
    def daily_reports_match_the_reviewed_entries(self) -> None:
        rows = list(
            Payment.objects.filter(office=self.office).values(
                "pk", "total", "booked_on", "reviewed_at", "channel", "payment_date", "volume_id"
            )
        )
        lines = defaultdict(list)
        for line in PaymentLine.objects.filter(payment__office=self.office).values(
            "payment_id", "fee_type__code", "quantity", "amount"
        ):
            lines[line["payment_id"]].append(line)
        # The database's idea of "reviewed" is the model's.
        assert {r["pk"] for r in rows if r["reviewed_at"] is not None} == {
            e.pk for e in self._reviewed()
        }
        days = {e.booked_on for e in self.entries.values()} | {
            r.decided_on for r in self.refunds.values() if r.decided_on
        }
        for day in sorted(days):
            report = selectors.daily_report(self.office, day)
            mine = [e for e in self._reviewed() if e.booked_on == day]
            theirs = [r for r in rows if r["reviewed_at"] is not None and r["booked_on"] == day]
            total = sum((e.total for e in mine), ZERO)
            assert total == sum((r["total"] for r in theirs), ZERO)
            assert total == sum((ln["amount"] for r in theirs for ln in lines[r["pk"]]), ZERO), (
                "the lines do not add up to the totals"
            )
            assert (report.count, report.total) == (len(mine), total)
            assert report.total == total.quantize(CENT)

            by_volume: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
            by_channel: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
            by_date: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
            by_fee: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
            for e in mine:
                v = self.volumes[e.volume]
                for key, bucket in (
                    (f"{v.kind}-{v.number}", by_volume),
                    (e.channel, by_channel),
                    (f"{e.channel} {e.payment_date}", by_date),
                ):
                    bucket[key][0] += 1
                    bucket[key][1] += e.total
                for code, quantity, amount in e.lines:
                    by_fee[code][0] += quantity
                    by_fee[code][1] += amount
            assert _table(report.closing) == _buckets(by_volume)
            assert _table(report.by_channel) == _buckets(by_channel)
            assert _table(report.by_channel_and_date) == _buckets(by_date)
            assert {
                row.label.split(" ")[0]: (row.count, row.amount) for row in report.by_fee
            } == _buckets(by_fee)
            assert sum((row.amount for row in report.by_fee), ZERO) == total

            refunded: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
            for r in self.refunds.values():
                if r.status == RefundStatus.APPROVED and r.decided_on == day:
                    refunded[r.reason][0] += 1
                    refunded[r.reason][1] += r.amount
            assert _table(report.refunds) == _buckets(refunded)
            assert report.refunded == sum((v[1] for v in refunded.values()), ZERO)

    @invariant()
    def nothing_booked_changes(self) -> None:
        now = _payment_facts()
        assert now.keys() == self.facts.keys()
        for pk, facts in self.facts.items():
            assert now[pk] == facts, f"booked payment {pk} changed"
        workflow = {
            pk: (status, reviewed_at is not None)
            for pk, status, reviewed_at in Payment.objects.values_list(
                "pk", "status", "reviewed_at"
            )
        }
        # Reviewed, and then perhaps corrected; never reviewed when sent back or void.
        assert workflow == {
            pk: (e.status, e.status in (PaymentStatus.REVIEWED, PaymentStatus.CORRECTED))
            for pk, e in self.entries.items()
        }
        # Volumes, refunds and the ledger are append-only in the same way.
        assert _rows(Volume, VOLUME_WORKFLOW) == self.volume_facts
        assert dict(Volume.objects.values_list("pk", "status")) == {
            pk: v.status for pk, v in self.volumes.items()
        }
        assert _rows(Refund, REFUND_WORKFLOW) == self.refund_facts
        assert dict(Refund.objects.values_list("pk", "status")) == {
            pk: r.status for pk, r in self.refunds.items()
        }
        journal, journal_lines = _rows(JournalEntry), _rows(JournalLine)
        for seen, now in ((self.journal, journal), (self.journal_lines, journal_lines)):
            assert {pk: now.get(pk) for pk in seen} == seen, "a ledger posting changed"
            seen.update(now)

    @invariant()
    def refunds_never_exceed_what_was_paid(self) -> None:
        taken: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for refund in Refund.objects.filter(office=self.office).exclude(
            status=RefundStatus.REJECTED
        ):
            assert refund.payment_id is not None
            taken[refund.payment_id] += refund.amount
        for pk, amount in taken.items():
            assert amount <= self.entries[pk].total, f"payment {pk} refunded beyond its total"
        # Per correction chain: the money of a first booking, its reversals and replacements
        # (a sent-back entry still holds its money until it is re-entered).
        paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
        refunded: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for e in self.entries.values():
            if e.status != PaymentStatus.VOID:
                paid[self._root(e)] += e.total
            refunded[self._root(e)] += taken.get(e.pk, ZERO)
        for root, amount in refunded.items():
            assert amount <= paid[root], (
                f"chain of payment {root}: {amount} refunded of {paid[root]}"
            )
        for entry in self._refundable_entries():
            assert services.refundable(Payment.objects.get(pk=entry.pk)) == self._left(entry)

    @invariant()
    def money_is_booked_once(self) -> None:
        """A payment's money stands once in its correction chain: whatever was corrected is
        offset by its reversal, whatever was sent back by its re-entry."""
        booked: dict[int, Decimal] = defaultdict(lambda: ZERO)
        standing: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for e in self.entries.values():
            if e.status not in (PaymentStatus.VOID, PaymentStatus.SENT_BACK):
                booked[self._root(e)] += e.total
            if e.status in (PaymentStatus.ENTERED, PaymentStatus.REVIEWED) and (
                e.entry_kind != EntryKind.REVERSAL
            ):
                standing[self._root(e)] += e.total
        for root in booked.keys() | standing.keys():
            assert booked[root] == standing[root], f"chain of payment {root}"

    @invariant()
    def audit_chain_verifies(self) -> None:
        report = verify_chain()
        assert report.ok, report.reason


def _table(rows: list[selectors.ReportRow]) -> dict[str, tuple[int, Decimal]]:
    table = {row.label: (row.count, row.amount) for row in rows}
    assert len(table) == len(rows), "a report row appears twice"
    return table


def _buckets(buckets: dict[str, list[Any]]) -> dict[str, tuple[int, Decimal]]:
    return {key: (count, amount) for key, (count, amount) in buckets.items()}


def test_collection_state_machine() -> None:
    assert calendar.is_working_day(DAY)
    # 10:00 in the office's time zone on DAY, a millisecond later at each reading.
    start = timezone.make_aware(dt.datetime.combine(DAY, dt.time(10))).astimezone(dt.UTC)
    ticks = itertools.count()
    with mock.patch.object(timezone, "now", lambda: start + dt.timedelta(milliseconds=next(ticks))):
        assert timezone.localdate() == DAY
        run_state_machine_as_test(
            CollectionMachine,
            settings=settings(
                max_examples=30,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )


# --- the machine's findings, as plain examples ---------------------------------------------


def _reviewed_payment(volume: Volume, collector: Any, reviewer: Any, **kwargs: Any) -> Payment:
    payment = services.book_payment(volume=volume, data=booking(**kwargs), actor=collector)
    services.close_volume(volume, actor=collector)
    return services.review_payment(payment, actor=reviewer)


def _correct(original: Payment, collector: Any, **kwargs: Any) -> tuple[Payment, Payment]:
    return services.correct_payment(
        original,
        data=booking(**kwargs),
        reason="digits swapped",
        cause="office_error",
        actor=collector,
    )


def test_a_corrected_payment_is_refunded_through_its_replacement_only(
    counter_volume: Volume, collector: Any, reviewer: Any
) -> None:
    original = _reviewed_payment(counter_volume, collector, reviewer)
    services.request_refund(payment=original, amount="500", reason="overpayment", actor=collector)
    reversal, replacement = _correct(original, collector)
    services.close_volume(reversal.volume, actor=collector)
    services.review_volume(reversal.volume, actor=reviewer)
    with pytest.raises(Conflict):
        services.request_refund(payment=original, amount="1", reason="overpayment", actor=collector)
    replacement.refresh_from_db()
    assert services.refundable(replacement) == Decimal("400.00")
    with pytest.raises(InvalidInput):
        services.request_refund(
            payment=replacement, amount="400.01", reason="overpayment", actor=collector
        )


def test_a_correction_carries_what_was_refunded(
    counter_volume: Volume, collector: Any, reviewer: Any
) -> None:
    original = _reviewed_payment(
        counter_volume, collector, reviewer, fee="examination", amount="2500"
    )
    services.request_refund(payment=original, amount="1000", reason="overpayment", actor=collector)
    count = Payment.objects.count()
    with pytest.raises(InvalidInput) as caught:
        _correct(original, collector)  # 900 yuan: less than the 1000 asked back
    assert "lines" in caught.value.fields
    assert Payment.objects.count() == count
    assert Payment.objects.get(pk=original.pk).status == PaymentStatus.REVIEWED


def test_a_reversal_is_not_sent_back(counter_volume: Volume, collector: Any, reviewer: Any) -> None:
    original = _reviewed_payment(counter_volume, collector, reviewer)
    reversal, _replacement = _correct(original, collector)
    services.close_volume(reversal.volume, actor=collector)
    with pytest.raises(Conflict):
        services.send_back(reversal, actor=reviewer, note="looks wrong")
    assert Payment.objects.get(pk=reversal.pk).status == PaymentStatus.ENTERED


def test_a_reentered_replacement_carries_what_was_refunded(
    office: Any, counter_volume: Volume, collector: Any, reviewer: Any
) -> None:
    original = _reviewed_payment(
        counter_volume, collector, reviewer, fee="examination", amount="2500"
    )
    services.request_refund(payment=original, amount="1000", reason="overpayment", actor=collector)
    reversal, replacement = _correct(original, collector, fee="examination", amount="2500")
    services.close_volume(reversal.volume, actor=collector)
    services.send_back(replacement, actor=reviewer, note="wrong application number")
    volume = services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=timezone.localdate(), actor=collector
    )
    with pytest.raises(InvalidInput):
        services.reenter_payment(
            Payment.objects.get(pk=replacement.pk), volume=volume, data=booking(), actor=collector
        )
    again = services.reenter_payment(
        Payment.objects.get(pk=replacement.pk),
        volume=volume,
        data=booking(fee="examination", amount="2500"),
        actor=collector,
    )
    assert services.refundable(again) == Decimal("1500.00")
