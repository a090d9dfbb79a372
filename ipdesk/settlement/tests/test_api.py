"""The settlement API: who sees what, the statement lifecycle, reports and bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ipdesk.accounts.models import OrganisationKind
from ipdesk.audit.models import AuditEvent
from ipdesk.settlement.models import (
    DaySubmission,
    InterestDeclaration,
    MonthlyStatement,
    PenaltyDecision,
)
from ipdesk.testing import api_client, organisation

from .test_month import book_day, people
from .test_settlement import on, september_bookings, staff


@pytest.fixture
def clerk_api(clerk: Any) -> Any:
    return api_client(clerk)


def issue(clerk_api: Any, code: str = "BJ") -> dict[str, Any]:
    with on(dt.date(2025, 10, 9)):
        response = clerk_api.post(
            "/api/v1/settlement/statements", {"office": code, "month": "2025-09"}, format="json"
        )
    assert response.status_code == 201, response.json()
    return response.json()


def test_statement_lifecycle_over_the_api(clerk: Any, clerk_api: Any) -> None:
    september_bookings()
    body = issue(clerk_api)
    assert body["amount_due"] == "3600.00" and body["status"] == "issued"
    bj = api_client(staff("BJ"))
    sh = api_client(staff("SH"))
    url = f"/api/v1/settlement/statements/{body['id']}"
    assert sh.get(url).status_code == 404  # another office's statement does not exist for SH
    assert sh.post(f"{url}/confirm").status_code == 404
    listed = sh.get("/api/v1/settlement/statements").json()["statements"]
    assert listed == []
    assert [s["id"] for s in bj.get("/api/v1/settlement/statements").json()["statements"]] == [
        body["id"]
    ]
    with on(dt.date(2025, 10, 9)):
        assert bj.post(f"{url}/confirm").json()["remit_deadline"] == "2025-10-16"
        before = AuditEvent.objects.count()
        for bad, field in (
            ({"bank_reference": "R1", "remitted_on": "2025-10-09", "amount": "1.001"}, "amount"),
            ({"bank_reference": "R1", "remitted_on": "2025-13-01", "amount": "1"}, "remitted_on"),
            ({"bank_reference": "", "remitted_on": "2025-10-09", "amount": "1"}, "bank_reference"),
            ({"bank_reference": "R1", "remitted_on": "2025-10-08", "amount": "1"}, "remitted_on"),
        ):
            response = bj.post(f"{url}/remittances", bad, format="json")
            assert response.status_code == 400, response.json()
            assert field in response.json()["error"]["fields"]
        assert AuditEvent.objects.count() == before
        paid = bj.post(
            f"{url}/remittances",
            {"bank_reference": "R1", "remitted_on": "2025-10-09", "amount": "3600.00"},
            format="json",
        )
    assert paid.status_code == 201
    assert paid.json()["statement"]["status"] == "reconciled"
    detail = bj.get(url).json()
    assert detail["remittances"][0]["bank_reference"] == "R1"
    assert sum(float(line["amount"]) for line in detail["fee_lines"]) == 3600


def test_dispute_and_correction_over_the_api(clerk: Any, clerk_api: Any) -> None:
    september_bookings()
    body = issue(clerk_api, "SH")
    sh = api_client(staff("SH"))
    url = f"/api/v1/settlement/statements/{body['id']}"
    with on(dt.date(2025, 10, 9)):
        blank = sh.post(f"{url}/dispute", {"differences": " "}, format="json")
        assert blank.status_code == 400 and "differences" in blank.json()["error"]["fields"]
        disputed = sh.post(f"{url}/dispute", {"differences": "少一笔"}, format="json").json()
        assert disputed["status"] == "disputed"
        assert sh.post(f"{url}/correct").status_code == 403  # offices do not correct
        corrected = clerk_api.post(f"{url}/correct")
    assert corrected.status_code == 201
    assert corrected.json()["revision"] == 2 and corrected.json()["supersedes"] == body["id"]
    assert MonthlyStatement.objects.filter(office__code="SH").count() == 2


def test_close_month_and_summary(clerk: Any, clerk_api: Any) -> None:
    september_bookings()
    with on(dt.date(2025, 10, 9)):
        assert clerk_api.post("/api/v1/settlement/months/2025-13/close").status_code == 400
        closed = clerk_api.post("/api/v1/settlement/months/2025-09/close").json()
        assert sorted(s["office"] for s in closed["issued"]) == ["BJ", "GZ", "SH"]
        again = clerk_api.post("/api/v1/settlement/months/2025-09/close").json()
        assert again["issued"] == [] and sorted(again["already_issued"]) == ["BJ", "GZ", "SH"]
        assert (
            api_client(staff("BJ")).post("/api/v1/settlement/months/2025-09/close").status_code
            == 403
        )
        summary = clerk_api.get("/api/v1/settlement/summary", {"month": "2025-09"}).json()
        assert summary["fees"] == "9900.00"  # 4 BJ + 2 SH + 5 GZ payments of 900
        assert summary["amount_due"] == "9900.00"
        assert (
            api_client(staff("BJ"))
            .get("/api/v1/settlement/summary", {"month": "2025-09"})
            .status_code
            == 403
        )
        pdf = clerk_api.get("/api/v1/settlement/summary", {"month": "2025-09", "format": "pdf"})
        assert pdf["Content-Type"] == "application/pdf"
        bad = clerk_api.get("/api/v1/settlement/summary", {"month": "2025-09", "format": "doc"})
        assert bad.status_code == 400 and "format" in bad.json()["error"]["fields"]
        no_month = clerk_api.get("/api/v1/settlement/summary")
        assert "month" in no_month.json()["error"]["fields"]


def test_monthly_reports_over_the_api(clerk: Any, clerk_api: Any) -> None:
    book_day("GZ", dt.date(2025, 9, 12), count=2)
    gz = api_client(people("GZ")[1])
    with on(dt.date(2025, 10, 9)):
        body = gz.get("/api/v1/offices/GZ/monthly-reports", {"month": "2025-09"}).json()
        assert body["reconciled"] is True
        assert body["fees_payable"]["closing"] == "5900.00"  # 900 + 2500 + 2500 by bank
        assert body["balance_sheet"]["total_assets"] == "5900.00"
        xlsx = gz.get("/api/v1/offices/GZ/monthly-reports", {"month": "2025-09", "format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx["Content-Type"].endswith("sheet")
        # Another office's reports do not exist for GZ; the fee office sees them all.
        organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
        assert gz.get("/api/v1/offices/BJ/monthly-reports", {"month": "2025-09"}).status_code == 404
        assert (
            clerk_api.get("/api/v1/offices/GZ/monthly-reports", {"month": "2025-09"}).status_code
            == 200
        )
        bad = gz.get("/api/v1/offices/GZ/monthly-reports", {"month": "Sept"})
        assert bad.status_code == 400 and "month" in bad.json()["error"]["fields"]


def test_interest_deduction_and_penalties(clerk: Any, clerk_api: Any) -> None:
    book_day("BJ", dt.date(2025, 9, 12), count=1)
    bj = api_client(people("BJ")[1])
    with on(dt.date(2025, 10, 9)):
        bad = bj.post(
            "/api/v1/settlement/interest",
            {
                "office": "BJ",
                "month": "2025-09",
                "amount": "-1",
                "explanation": "",
                "bank_reference": "I1",
                "remitted_on": "2025-10-09",
            },
            format="json",
        )
        assert bad.status_code == 400
        assert {"amount", "explanation"} <= set(bad.json()["error"]["fields"])
        assert not InterestDeclaration.objects.exists()
        ok = bj.post(
            "/api/v1/settlement/interest",
            {
                "office": "BJ",
                "month": "2025-09",
                "amount": "5.55",
                "explanation": "活期利息",
                "bank_reference": "I1",
                "remitted_on": "2025-10-09",
            },
            format="json",
        )
        assert ok.status_code == 201 and ok.json()["amount"] == "5.55"
        wrong = clerk_api.post(
            "/api/v1/settlement/deductions",
            {"office": "XX", "year": 2025, "reference": "", "base_amount": "0", "reason": ""},
            format="json",
        )
        assert wrong.status_code == 400 and "office" in wrong.json()["error"]["fields"]
        bad_decision = clerk_api.post(
            "/api/v1/settlement/deductions",
            {"office": "BJ", "year": 2025, "reference": "", "base_amount": "0", "reason": ""},
            format="json",
        )
        assert set(bad_decision.json()["error"]["fields"]) == {"reference", "base_amount", "reason"}
        assert not PenaltyDecision.objects.exists()
        decided = clerk_api.post(
            "/api/v1/settlement/deductions",
            {
                "office": "BJ",
                "year": 2025,
                "reference": "D-1",
                "base_amount": "1000.00",
                "reason": "滞留",
            },
            format="json",
        )
        assert decided.json()["amount"] == "200.00"
        penalties = bj.get("/api/v1/offices/BJ/penalties", {"year": 2025}).json()
    kinds = {item["kind"]: item for item in penalties["items"]}
    assert kinds["deduction"]["amount"] == "200.00"
    # Sep 12's data was never sent: due Mon 15; late Sep 16-19, 22-26, the make-up Sunday
    # 28, 29, 30 and Oct 9 (the National Day holiday excluded): 13 working days.
    assert kinds["late_data_running"]["count"] == 13
    assert penalties["total"] == "2800.00"


def test_day_submissions_over_the_api(clerk: Any, clerk_api: Any) -> None:
    book_day("SH", dt.date(2025, 9, 12), count=1)
    sh = api_client(people("SH")[0])
    with on(dt.date(2025, 9, 17)):
        bad = sh.post("/api/v1/offices/SH/day-submissions", {"day": "12.9.2025"}, format="json")
        assert bad.status_code == 400 and "day" in bad.json()["error"]["fields"]
        sent = sh.post("/api/v1/offices/SH/day-submissions", {"day": "2025-09-12"}, format="json")
        assert sent.status_code == 201
        assert sent.json()["late_working_days"] == 2  # due Mon 15, sent Wed 17
        again = sh.post("/api/v1/offices/SH/day-submissions", {"day": "2025-09-12"}, format="json")
        assert again.status_code == 409
        listed = sh.get("/api/v1/offices/SH/day-submissions", {"year": 2025}).json()
        assert [s["day"] for s in listed["submissions"]] == ["2025-09-12"]
        url = f"/api/v1/day-submissions/{sent.json()['id']}/excuse"
        assert sh.post(url, {"reason": "停电"}, format="json").status_code == 403
        blank = clerk_api.post(url, {"reason": ""}, format="json")
        assert blank.status_code == 400 and "reason" in blank.json()["error"]["fields"]
        excused = clerk_api.post(url, {"reason": "全市停电"}, format="json")
    assert excused.json()["excuse"] == "全市停电"
    assert DaySubmission.objects.get().excused_by == clerk


def test_an_office_sees_its_own_statement_behind_a_thousand_of_others(clerk: Any) -> None:
    """Visibility is a filter of the query, not a pass over its first rows: 1,001
    statements of another office sort before this office's one, and it is still listed."""
    other = organisation(OrganisationKind.AGENCY_OFFICE, "AA")
    own = organisation(OrganisationKind.AGENCY_OFFICE, "ZZ")

    def statement(office: Any, revision: int) -> MonthlyStatement:
        return MonthlyStatement(
            office=office,
            month=dt.date(2025, 9, 1),
            revision=revision,
            fees_total=0,
            refunds_total=0,
            amount_due=0,
            issued_on=dt.date(2025, 10, 9),
            issued_by=clerk,
        )

    MonthlyStatement.objects.bulk_create(statement(other, n) for n in range(1, 1002))
    mine = statement(own, 1)
    mine.save()
    listed = api_client(staff("ZZ")).get("/api/v1/settlement/statements").json()["statements"]
    assert [s["id"] for s in listed] == [mine.pk]
    everyone = api_client(clerk).get("/api/v1/settlement/statements?office=ZZ").json()
    assert [s["id"] for s in everyone["statements"]] == [mine.pk]
