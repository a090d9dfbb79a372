"""Fixtures of the API-wide tests: demo-like data that the endpoints can find, and a token
for each kind of caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import TestCase


@dataclass
class ApiWorld:
    """What the demo-like data holds, by the names the API's paths use."""

    tokens: dict[str, str | None] = field(default_factory=dict)
    payments: list[int] = field(default_factory=list)
    counter_payments: list[int] = field(default_factory=list)
    volumes: list[int] = field(default_factory=list)
    refunds: list[int] = field(default_factory=list)
    receipts: list[tuple[str, str]] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    submissions: list[int] = field(default_factory=list)
    bindings: list[int] = field(default_factory=list)
    offices: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    open_volume: int = 0
    closed_volume: int = 0
    entered_payment: int = 0
    binding_code: str = ""
    verification: dict[str, str] = field(default_factory=dict)
    receipt_xml: bytes = b""
    today: str = ""

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens[caller]
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def api_world(db: None) -> ApiWorld:
    """The demo (offices, one user per role, a reviewed day of counter payments with their
    receipts); a closed and an open volume each with an entered payment, a requested refund,
    last month's statement, a day sent to the fee office, a wallet app bound by the demo
    payer and a binding code for another; and a token per caller."""
    import datetime as dt

    from django.utils import timezone

    from ipdesk.accounts.models import Organisation, User
    from ipdesk.accounts.services import issue_api_token
    from ipdesk.collection import services as collection
    from ipdesk.collection.models import Payment, Refund, Volume, VolumeKind
    from ipdesk.delivery import services as delivery
    from ipdesk.delivery.models import WalletBinding
    from ipdesk.home.demo import load_demo, load_demo_payments
    from ipdesk.receipts import documents
    from ipdesk.receipts.models import Receipt
    from ipdesk.settlement import services as settlement
    from ipdesk.settlement.models import DaySubmission, MonthlyStatement
    from ipdesk.testing import application_number, booking

    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    load_demo()
    users = {u.username: u for u in User.objects.all()}
    office = Organisation.objects.get(code="BJ")
    with TestCase.captureOnCommitCallbacks(execute=True):
        load_demo_payments()
        first = Payment.objects.order_by("pk").first()
        assert first is not None
        collection.request_refund(
            payment=first, actor=users["collector"], amount=first.total, reason="duplicate"
        )
        settlement.submit_day(office=office, day=today, actor=users["collector"])
        volumes, entered = [], []
        for serial in (5, 6):
            volume = collection.open_volume(
                office=office, kind=VolumeKind.COUNTER, day=today, actor=users["collector"]
            )
            payment = collection.book_payment(
                volume=volume,
                data=booking(number=application_number(serial=serial)),
                actor=users["collector"],
            )
            volumes.append(volume.pk)
            entered.append(payment.pk)
            if serial == 5:
                collection.close_volume(volume, actor=users["collector"])
        settlement.issue_statement(office, last_month, users["clerk"])
        wallet, wallet_token, _secret = delivery.register_wallet(name="票夹")
        _binding, code = delivery.start_binding(users["payer"])
        delivery.complete_binding(wallet, code=code, phone=users["payer"].phone)
        _binding, world_binding_code = delivery.start_binding(users["payer"])
    world = ApiWorld()
    for caller, username in [
        ("admin", "admin"),
        ("collector", "collector"),
        ("reviewer", "reviewer"),
        ("fee_clerk", "clerk"),
        ("payer", "payer"),
    ]:
        _token, world.tokens[caller] = issue_api_token(users[username], name="schemathesis")
    world.tokens["wallet"] = wallet_token
    world.tokens["anonymous"] = None
    world.payments = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
    world.closed_volume, world.open_volume = volumes
    world.entered_payment = entered[0]
    world.binding_code = world_binding_code
    world.counter_payments = list(
        Payment.objects.filter(channel="counter").values_list("pk", flat=True)
    )
    world.volumes = list(Volume.objects.values_list("pk", flat=True))
    world.refunds = list(Refund.objects.values_list("pk", flat=True))
    world.receipts = [
        (r.series.code, r.number_text) for r in Receipt.objects.select_related("series")
    ]
    world.statements = list(MonthlyStatement.objects.values_list("pk", flat=True))
    world.submissions = list(DaySubmission.objects.values_list("pk", flat=True))
    world.bindings = list(WalletBinding.objects.values_list("pk", flat=True))
    world.offices = ["BJ", "SH", "CNIPA"]
    world.months = [f"{last_month:%Y-%m}", f"{today:%Y-%m}"]
    world.today = today.isoformat()
    receipt = Receipt.objects.select_related("series").order_by("pk").first()
    assert receipt is not None
    world.verification = {
        "code": receipt.series.code,
        "number": receipt.number_text,
        "check_code": receipt.check_code,
        "date": receipt.issue_date.isoformat(),
        "amount": str(receipt.total),
    }
    world.receipt_xml = documents.render(receipt, "xml")
    return world


def known_cases(label: str, world: ApiWorld) -> list[dict[str, Any]]:
    """Requests that mean something in ``world`` (a booking that books, a statement that
    exists...), so that the answers checked are not only refusals of random data."""
    from ipdesk.testing import PERSON_ID, application_number

    month = world.months[0]
    payer = {"name": "陈发明", "kind": "individual", "id_code": PERSON_ID, "phone": "13800138000"}
    lines = [{"fee_code": "application", "amount": "900.00"}]
    payment = {
        "channel": "counter",
        "office": "BJ",
        "payer": payer,
        "application_number": application_number(serial=654321),
        "lines": lines,
    }
    receipt = {"code": world.verification["code"], "number": world.verification["number"]}
    each = {
        "POST /api/v1/payments": [
            {"body": payment},
            {"body": payment, "headers": {"Idempotency-Key": "k-1"}},
            {"body": {**payment, "channel": "online", "office": "CNIPA"}},
        ],
        "POST /api/v1/volumes": [{"body": {"office": "BJ", "kind": "counter"}}],
        "POST /api/v1/volumes/{id}/close": [{"path_parameters": {"id": world.open_volume}}],
        "POST /api/v1/volumes/{id}/review": [
            {"path_parameters": {"id": world.closed_volume}, "body": {"approve_overrides": False}}
        ],
        "POST /api/v1/payments/{id}/review": [
            {"path_parameters": {"id": world.entered_payment}, "body": {}}
        ],
        "POST /api/v1/payments/{id}/send-back": [
            {"path_parameters": {"id": world.entered_payment}, "body": {"note": "金额有误"}}
        ],
        "POST /api/v1/payments/{id}/correct": [
            {
                "path_parameters": {"id": world.payments[1]},
                "body": {
                    "reason": "申请号有误",
                    "cause": "office_error",
                    "payer": payer,
                    "application_number": application_number(serial=111111),
                    "lines": lines,
                },
            }
        ],
        "POST /api/v1/payments/{id}/refunds": [
            {
                "path_parameters": {"id": world.payments[2]},
                "body": {"amount": "10.00", "reason": "overpayment"},
            }
        ],
        "GET /api/v1/offices/{code}/daily-report": [
            {"path_parameters": {"code": "BJ"}, "query": {"day": world.today, "format": fmt}}
            for fmt in ("json", "pdf", "xlsx")
        ],
        "GET /api/v1/offices/{code}/day-submissions": [
            {"path_parameters": {"code": "BJ"}, "query": {"year": int(world.today[:4])}}
        ],
        "POST /api/v1/day-submissions/{id}/excuse": [
            {"path_parameters": {"id": world.submissions[0]}, "body": {"reason": "系统故障"}}
        ],
        "GET /api/v1/verify": [
            {"query": world.verification},
            {"query": {k: world.verification[k] for k in ("code", "number", "check_code")}},
        ],
        "POST /api/v1/verify/file": [
            {"body": {"file": world.receipt_xml}, "media_type": "multipart/form-data"}
        ],
        "POST /api/v1/receipts/{code}/{number}/reverse": [
            {"path_parameters": receipt, "body": {"reason": "other", "note": "重开"}},
            {"path_parameters": receipt, "body": {"reason": "wrong_title", "title": "新抬头"}},
        ],
        "POST /api/v1/receipts/{code}/{number}/send": [
            {"path_parameters": receipt, "body": {"email": "payer@example.com"}}
        ],
        "POST /api/v1/wallet/bindings": [
            {"body": {"code": world.binding_code, "phone": "13800138000"}}
        ],
        "POST /api/v1/settlement/months/{month}/close": [{"path_parameters": {"month": month}}],
        "GET /api/v1/wallet/receipts": [{"query": {"phone": "13800138000", "limit": 1}}],
        "GET /api/v1/settlement/statements": [{"query": {"month": month, "office": "BJ"}}],
        "POST /api/v1/settlement/statements": [{"body": {"office": "SH", "month": month}}],
        "POST /api/v1/settlement/statements/{id}/dispute": [
            {"path_parameters": {"id": world.statements[0]}, "body": {"differences": "少记一笔"}}
        ],
        "POST /api/v1/settlement/statements/{id}/remittances": [
            {
                "path_parameters": {"id": world.statements[0]},
                "body": {"bank_reference": "B-1", "remitted_on": world.today, "amount": "0.00"},
            }
        ],
        "POST /api/v1/settlement/interest": [
            {
                "body": {
                    "office": "BJ",
                    "month": month,
                    "amount": "12.34",
                    "explanation": "活期利息",
                    "bank_reference": "I-1",
                    "remitted_on": world.today,
                }
            }
        ],
        "POST /api/v1/settlement/deductions": [
            {
                "body": {
                    "office": "BJ",
                    "year": int(month[:4]),
                    "reference": "D-1",
                    "base_amount": "1000.00",
                    "reason": "截留",
                }
            }
        ],
        "GET /api/v1/settlement/summary": [
            {"query": {"month": month, "format": fmt}} for fmt in ("json", "pdf", "xlsx")
        ],
        "GET /api/v1/offices/{code}/monthly-reports": [
            {"path_parameters": {"code": "BJ"}, "query": {"month": month, "format": fmt}}
            for fmt in ("json", "pdf", "xlsx")
        ],
        "POST /api/v1/fees/quote": [
            {"body": {"patent_kind": "invention", "fee_code": "application"}},
            {
                "body": {
                    "patent_kind": "invention",
                    "fee_code": "annual",
                    "year": 3,
                    "filing_date": "2023-01-05",
                    "reduction": 85,
                }
            },
        ],
        "GET /api/v1/fees/schedule": [{"query": {"on": world.today}}],
        "GET /api/v1/calendar/deadline": [{"query": {"start": "2026-01-05", "months": 2}}],
        "GET /api/v1/calendar/days": [{"query": {"from": "2026-09-28", "to": "2026-10-09"}}],
        "POST /api/v1/identifiers/check": [
            {"body": {"kind": "mobile", "value": "13800138000"}},
            {"body": {"kind": "application_number", "value": application_number()}},
        ],
        "GET /api/v1/audit/events": [{"query": {"after": 1, "object_type": "payment"}}],
        "POST /api/v1/auth/phone/code": [{"body": {"phone": "13800138000"}}],
        "POST /api/v1/auth/phone/login": [{"body": {"phone": "13800138000", "code": "123456"}}],
    }
    return each.get(label, [])


def known_path_parameters(path: str, world: ApiWorld) -> list[dict[str, Any]]:
    """Path parameters naming things that exist, for the operation at ``path``."""
    if "{code}/{number}" in path:
        return [{"code": code, "number": number} for code, number in world.receipts]
    by_prefix = [
        ("/api/v1/payments/{id}/paper-receipt", "id", world.counter_payments),
        ("/api/v1/payments/{id}", "id", world.payments),
        ("/api/v1/refunds/{id}", "id", world.refunds),
        ("/api/v1/volumes/{id}", "id", world.volumes),
        ("/api/v1/settlement/statements/{id}", "id", world.statements),
        ("/api/v1/day-submissions/{id}", "id", world.submissions),
        ("/api/v1/wallet/my-bindings/{binding_id}", "binding_id", world.bindings),
        ("/api/v1/offices/{code}", "code", world.offices),
        ("/api/v1/settlement/months/{month}", "month", world.months),
    ]
    for prefix, name, values in by_prefix:
        if path.startswith(prefix):
            return [{name: value} for value in values]
    return []
