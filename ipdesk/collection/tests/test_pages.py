"""The staff pages: today's volumes, fast entry, review and the daily report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.collection import services
from ipdesk.collection.models import (
    EntryKind,
    Payment,
    PaymentStatus,
    Volume,
    VolumeKind,
    VolumeStatus,
)
from ipdesk.testing import PERSON_ID, application_number, organisation, user

from .conftest import booking

pytestmark = pytest.mark.django_db


def client_for(who: Any = None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if who is not None:
        client.force_login(who)
    return client


def entry_form(**changes: Any) -> dict[str, Any]:
    """What the entry form sends for a counter payment of the invention application fee."""
    data: dict[str, Any] = {
        "form_key": "",
        "payer_name": "陈发明",
        "payer_kind": "individual",
        "payer_id_code": PERSON_ID,
        "payer_phone": "13800138000",
        "payer_email": "",
        "receipt_title": "",
        "application_number": application_number(),
        "reduction": "0",
        "filing_date": "",
        "grant_date": "",
        "channel": "counter",
        "received_on": timezone.localdate().isoformat(),
        "voucher_ref": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-fee_code": "application",
        "lines-0-amount": "900",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def page_urls(volume: Volume) -> list[str]:
    return [
        reverse("collection:today"),
        reverse("collection:report"),
        reverse("collection:book", args=[volume.pk]),
        reverse("collection:volume", args=[volume.pk]),
        reverse("collection:quote", args=[volume.pk]),
    ]


# --- who may see the pages ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.REVIEWER])
def test_pages_render_for_office_staff(office: Any, counter_volume: Volume, role: str) -> None:
    client = client_for(user(role, f"staff-{role}", org=office))
    for url in page_urls(counter_volume):
        response = client.get(url)
        assert response.status_code == 200, url


def test_anonymous_users_are_sent_to_sign_in(counter_volume: Volume) -> None:
    client = client_for()
    for url in page_urls(counter_volume):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login"))
    response = client.post(reverse("collection:review-volume", args=[counter_volume.pk]))
    assert response.status_code == 302


@pytest.mark.parametrize("role", [Role.PAYER, Role.FEE_CLERK, Role.AUDITOR, Role.ADMIN])
def test_other_roles_are_refused(counter_volume: Volume, role: str) -> None:
    client = client_for(user(role, f"other-{role}"))
    for url in page_urls(counter_volume):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("collection:open-volume"), {"kind": "counter"}).status_code == 403


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.REVIEWER])
def test_staff_of_another_office_are_refused(
    counter_volume: Volume, collector: Any, role: str
) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    elsewhere = organisation(OrganisationKind.AGENCY_OFFICE, "SH", name="上海代办处")
    client = client_for(user(role, f"sh-{role}", org=elsewhere))
    for url in page_urls(counter_volume)[2:]:
        assert client.get(url).status_code == 403, url
    pk = counter_volume.pk
    for url in [
        reverse("collection:close-volume", args=[pk]),
        reverse("collection:review-volume", args=[pk]),
        reverse("collection:book", args=[pk]),
        reverse("collection:send-back", args=[payment.pk]),
    ]:
        assert client.post(url, entry_form(note="x")).status_code == 403, url
    assert Payment.objects.count() == 1
    assert Volume.objects.get(pk=pk).status == VolumeStatus.OPEN
    # Their own pages show their own office only.
    today = client.get(reverse("collection:today"))
    assert counter_volume.label not in today.content.decode()


def test_dashboards_link_to_the_pages(office: Any, collector: Any, reviewer: Any) -> None:
    for who in (collector, reviewer):
        page = client_for(who).get(reverse("core:dashboard")).content.decode()
        assert reverse("collection:today") in page
        assert reverse("collection:report") in page


# --- volumes --------------------------------------------------------------------------------


def test_open_and_close_a_volume(office: Any, collector: Any) -> None:
    client = client_for(collector)
    response = client.post(reverse("collection:open-volume"), {"kind": "bank"})
    volume = Volume.objects.get(office=office, kind=VolumeKind.BANK)
    assert response.status_code == 302
    assert response["Location"] == reverse("collection:book", args=[volume.pk])
    # Asking again goes to the same open volume.
    again = client.post(reverse("collection:open-volume"), {"kind": "bank"})
    assert again["Location"] == response["Location"]
    page = client.get(reverse("collection:today")).content.decode()
    assert volume.label in page
    closed = client.post(reverse("collection:close-volume", args=[volume.pk]), follow=True)
    assert "is closed" in closed.content.decode()
    assert Volume.objects.get(pk=volume.pk).status == VolumeStatus.CLOSED
    refused = client.post(reverse("collection:close-volume", args=[volume.pk]), follow=True)
    assert "already closed" in refused.content.decode()


def test_only_hand_kept_volumes_are_opened_here(office: Any, collector: Any) -> None:
    response = client_for(collector).post(
        reverse("collection:open-volume"), {"kind": "online"}, follow=True
    )
    assert not Volume.objects.exists()
    assert "Choose a counter" in response.content.decode()


# --- fast entry ---------------------------------------------------------------------------


def test_entry_form_is_built_for_the_keyboard(counter_volume: Volume, collector: Any) -> None:
    page = client_for(collector).get(reverse("collection:book", args=[counter_volume.pk]))
    html = page.content.decode()
    # The cursor starts in the first field; every input has its label.
    assert html.index("autofocus") < html.index('name="payer_kind"')
    assert 'id="id_payer_name"' in html and 'for="id_payer_name"' in html
    assert 'for="id_lines-0-amount"' in html
    # The first submit button (what Enter presses) books; the calculator endpoint is named.
    assert html.index('class="primary"') < html.index('name="check"')
    assert reverse("collection:quote", args=[counter_volume.pk]) in html
    assert 'name="postmarked_on"' not in html  # a counter volume asks only for its own dates


def test_booking_through_the_form(counter_volume: Volume, collector: Any) -> None:
    client = client_for(collector)
    url = reverse("collection:book", args=[counter_volume.pk])
    response = client.post(
        url,
        entry_form(
            **{"lines-1-fee_code": "publication_printing", "lines-1-amount": "50.00"},
            form_key="k1",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    payment = Payment.objects.get()
    assert response["Location"] == f"{url}?booked={payment.pk}"
    assert payment.total == Decimal("950.00")
    assert payment.entered_by == collector and payment.volume == counter_volume
    assert sorted(line.fee_type.code for line in payment.lines.all()) == [
        "application",
        "publication_printing",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Payment booked" in page
    assert reverse("api:payment-paper-receipt", args=[payment.pk]) in page
    # The same form sent twice (a double click) books once.
    twice = client.post(
        url,
        entry_form(
            **{"lines-1-fee_code": "publication_printing", "lines-1-amount": "50.00"},
            form_key="k1",
        ),
    )
    assert twice.status_code == 302
    assert Payment.objects.count() == 1


def test_bank_payment_takes_its_transfer_date(office: Any, collector: Any) -> None:
    client = client_for(collector)
    client.post(reverse("collection:open-volume"), {"kind": "bank"})
    volume = Volume.objects.get(kind=VolumeKind.BANK)
    today = timezone.localdate()
    response = client.post(
        reverse("collection:book", args=[volume.pk]),
        entry_form(channel="bank", remitted_on=today.isoformat(), info_complete_on=""),
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.channel, payment.payment_date_rule) == ("bank", "bank_transfer")
    # A bank transfer without its date is refused next to the date field.
    again = client.post(reverse("collection:book", args=[volume.pk]), entry_form(channel="bank"))
    assert again.status_code == 200
    assert again.context["form"].errors["remitted_on"] == [
        "A bank transfer needs its transfer date."
    ]
    assert Payment.objects.count() == 1


def test_wrong_application_number_is_shown_next_to_it(
    counter_volume: Volume, collector: Any
) -> None:
    response = client_for(collector).post(
        reverse("collection:book", args=[counter_volume.pk]),
        entry_form(application_number="202310123456.0"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["application_number"]
    assert "check character" in errors["application_number"][0]
    html = response.content.decode()
    assert 'id="id_application_number_error"' in html
    assert 'aria-invalid="true"' in html
    assert "Nothing was booked." in html
    assert not Payment.objects.exists()


def test_amount_differing_from_the_schedule_is_shown_on_its_line(
    counter_volume: Volume, collector: Any
) -> None:
    response = client_for(collector).post(
        reverse("collection:book", args=[counter_volume.pk]),
        entry_form(**{"lines-0-amount": "950"}),
    )
    assert response.status_code == 200
    line = response.context["formset"].forms[0]
    assert "900.00" in line.errors["amount"][0]
    assert "id_lines-0-amount_error" in response.content.decode()
    # The schedule's amount is shown next to the line, and flagged as different.
    assert response.context["lines"][0][1]["amount"] == Decimal("900.00")
    assert response.context["lines"][0][1]["differs"] is True
    assert not Payment.objects.exists()


def test_errors_name_the_row_the_line_was_typed_in(counter_volume: Volume, collector: Any) -> None:
    # Row 0 left empty: the service's "lines.0" is the page's row 1.
    response = client_for(collector).post(
        reverse("collection:book", args=[counter_volume.pk]),
        entry_form(
            **{
                "lines-0-fee_code": "",
                "lines-0-amount": "",
                "lines-1-fee_code": "examination",
                "lines-1-amount": "2500",
                "lines-2-fee_code": "application",
                "lines-2-amount": "1",
            }
        ),
    )
    forms = response.context["formset"].forms
    assert not forms[0].errors and not forms[1].errors
    assert "amount" in forms[2].errors
    assert not Payment.objects.exists()


def test_form_checks_before_the_service(counter_volume: Volume, collector: Any) -> None:
    response = client_for(collector).post(
        reverse("collection:book", args=[counter_volume.pk]),
        entry_form(payer_name="", **{"lines-0-amount": ""}),
    )
    assert "payer_name" in response.context["form"].errors
    assert "amount" in response.context["formset"].forms[0].errors
    assert not Payment.objects.exists()
    nothing = client_for(collector).post(
        reverse("collection:book", args=[counter_volume.pk]),
        entry_form(**{"lines-0-fee_code": "", "lines-0-amount": ""}),
    )
    assert nothing.context["about_lines"] == ["A payment has at least one fee line."]


def test_check_amounts_books_nothing(counter_volume: Volume, collector: Any) -> None:
    response = client_for(collector).post(
        reverse("collection:book", args=[counter_volume.pk]),
        entry_form(check="1", **{"lines-1-fee_code": "examination", "lines-1-amount": ""}),
    )
    assert response.status_code == 200
    assert response.context["lines"][0][1]["amount"] == Decimal("900.00")
    assert not Payment.objects.exists()


def test_inline_calculator(counter_volume: Volume, collector: Any) -> None:
    url = reverse("collection:quote", args=[counter_volume.pk])
    answer = client_for(collector).get(
        url,
        entry_form(
            reduction="85",
            **{
                "lines-0-amount": "900",
                "lines-1-fee_code": "examination",
                "lines-2-fee_code": "reexamination",
            },
        ),
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["payment_date"] == timezone.localdate().isoformat()
    assert body["lines"]["0"]["amount"] == "135.00"
    assert body["lines"]["0"]["differs"] is True
    assert body["lines"]["1"]["amount"] == "375.00"
    assert body["lines"]["1"]["differs"] is False
    # Design patents have no substantive examination: the line says why.
    design = client_for(collector).get(
        url,
        entry_form(
            application_number=application_number(type_digit=3),
            **{"lines-0-fee_code": "examination"},
        ),
    )
    assert "error" in design.json()["lines"]["0"]
    # Half-typed forms answer without failing.
    assert client_for(collector).get(url).json()["lines"] == {}


def test_closed_volume_takes_no_entry(counter_volume: Volume, collector: Any) -> None:
    services.close_volume(counter_volume, actor=collector)
    client = client_for(collector)
    url = reverse("collection:book", args=[counter_volume.pk])
    assert "takes no new entries" in client.get(url).content.decode()
    client.post(url, entry_form())
    assert not Payment.objects.exists()


def test_an_earlier_days_open_volume_is_to_be_closed_not_filled(
    office: Any, collector: Any
) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    old = services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=yesterday, actor=collector
    )
    client = client_for(collector)
    today = client.get(reverse("collection:today")).content.decode()
    assert "Still open from earlier days" in today
    assert reverse("collection:close-volume", args=[old.pk]) in today
    url = reverse("collection:book", args=[old.pk])
    assert "only today's open volumes do" in client.get(url).content.decode().replace("&#x27;", "'")
    client.post(url, entry_form())
    assert not Payment.objects.exists()


# --- review -------------------------------------------------------------------------------


def _closed_with_entry(volume: Volume, collector: Any, **kwargs: Any) -> Payment:
    payment = services.book_payment(volume=volume, data=booking(**kwargs), actor=collector)
    services.close_volume(volume, actor=collector)
    return payment


def test_review_screen_shows_entries_and_flags(
    counter_volume: Volume, collector: Any, reviewer: Any
) -> None:
    data = booking()
    overridden = services.BookingData(
        channel=data.channel,
        payer=data.payer,
        application_number=application_number(serial=7),
        lines=[
            services.LineData(
                fee_code="application", amount="950.00", override_reason="court order 12"
            )
        ],
        dates=data.dates,
    )
    services.book_payment(volume=counter_volume, data=data, actor=collector)
    services.book_payment(volume=counter_volume, data=overridden, actor=collector)
    Payment.objects.filter(application_number=data.application_number).update(booked_late=True)
    services.close_volume(counter_volume, actor=collector)
    page = client_for(reviewer).get(reverse("collection:volume", args=[counter_volume.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "court order 12" in html and "50.00" in html
    assert "Differs from the schedule" in html
    assert "Booked late" in html
    assert 'name="approve_overrides"' in html
    assert html.count("Send entry back") == 2
    assert "Review volume" in html


def test_review_by_the_collector_is_refused(counter_volume: Volume, collector: Any) -> None:
    payment = _closed_with_entry(counter_volume, collector)
    response = client_for(collector).post(
        reverse("collection:review-volume", args=[counter_volume.pk]), follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only reviewer of" in html and "may review entries" in html
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ENTERED and payment.reviewed_by is None
    assert Volume.objects.get(pk=counter_volume.pk).status == VolumeStatus.CLOSED


def test_reviewer_cannot_review_their_own_entry(counter_volume: Volume, reviewer: Any) -> None:
    payment = _closed_with_entry(counter_volume, reviewer)
    response = client_for(reviewer).post(
        reverse("collection:review-volume", args=[counter_volume.pk]), follow=True
    )
    assert "someone other than the person who entered the data" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ENTERED


def test_refusal_reads_in_chinese(counter_volume: Volume, reviewer: Any) -> None:
    _closed_with_entry(counter_volume, reviewer)
    response = client_for(reviewer, language="zh-hans").post(
        reverse("collection:review-volume", args=[counter_volume.pk]), follow=True
    )
    assert "复核必须由数据录入人以外的人员进行。" in response.content.decode()


def test_review_by_the_reviewer(counter_volume: Volume, collector: Any, reviewer: Any) -> None:
    payment = _closed_with_entry(counter_volume, collector)
    response = client_for(reviewer).post(
        reverse("collection:review-volume", args=[counter_volume.pk]), follow=True
    )
    assert response.status_code == 200
    assert "is reviewed" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEWED and payment.reviewed_by == reviewer
    assert Volume.objects.get(pk=counter_volume.pk).status == VolumeStatus.REVIEWED


def test_overrides_need_the_explicit_approval(
    counter_volume: Volume, collector: Any, reviewer: Any
) -> None:
    data = booking()
    services.book_payment(
        volume=counter_volume,
        data=services.BookingData(
            channel=data.channel,
            payer=data.payer,
            application_number=data.application_number,
            lines=[services.LineData(fee_code="application", amount="950", override_reason="x")],
            dates=data.dates,
        ),
        actor=collector,
    )
    services.close_volume(counter_volume, actor=collector)
    client = client_for(reviewer)
    url = reverse("collection:review-volume", args=[counter_volume.pk])
    refused = client.post(url, follow=True)
    assert "approve the documented override" in refused.content.decode()
    assert Payment.objects.get().status == PaymentStatus.ENTERED
    client.post(url, {"approve_overrides": "1"})
    assert Payment.objects.get().status == PaymentStatus.REVIEWED


def test_send_back_and_enter_again(counter_volume: Volume, collector: Any, reviewer: Any) -> None:
    payment = _closed_with_entry(counter_volume, collector)
    url = reverse("collection:send-back", args=[payment.pk])
    empty = client_for(reviewer).post(url, {"note": " "}, follow=True)
    assert "Say what is wrong" in empty.content.decode()
    assert Payment.objects.get().status == PaymentStatus.ENTERED
    # The collector cannot send back (only reviewers review).
    client_for(collector).post(url, {"note": "mine"})
    assert Payment.objects.get().status == PaymentStatus.ENTERED
    client_for(reviewer).post(url, {"note": "wrong payer name"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SENT_BACK
    assert Volume.objects.get(pk=counter_volume.pk).status == VolumeStatus.REVIEWED

    client = client_for(collector)
    today = client.get(reverse("collection:today")).content.decode()
    assert "wrong payer name" in today
    opened = client.post(
        reverse("collection:open-volume"), {"kind": "counter", "reenters": payment.pk}
    )
    new_volume = Volume.objects.get(status=VolumeStatus.OPEN)
    assert opened["Location"].endswith(f"?reenters={payment.pk}")
    form = client.get(opened["Location"])
    assert form.context["form"].initial["application_number"] == payment.application_number
    assert "wrong payer name" in form.content.decode()
    response = client.post(
        reverse("collection:book", args=[new_volume.pk]),
        entry_form(
            payer_name="陈发明人",
            application_number=payment.application_number,
            reenters=str(payment.pk),
        ),
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    replacement = Payment.objects.get(volume=new_volume)
    assert payment.status == PaymentStatus.VOID
    assert replacement.entry_kind == EntryKind.REPLACEMENT and replacement.corrects == payment
    assert replacement.payer_name == "陈发明人"


# --- daily report -------------------------------------------------------------------------


def test_daily_report_page(counter_volume: Volume, collector: Any, reviewer: Any) -> None:
    payment = _closed_with_entry(counter_volume, collector)
    services.review_volume(counter_volume, actor=reviewer)
    client = client_for(reviewer)
    day = timezone.localdate().isoformat()
    page = client.get(reverse("collection:report"), {"day": day})
    html = page.content.decode()
    assert page.status_code == 200
    report = page.context["report"]
    assert (report.count, report.total) == (1, Decimal("900.00"))
    for title in ("日结单", "汇总表1", "汇总表2", "Refunds approved"):
        assert title in html
    pdf_url = reverse("api:daily-report", args=["BJ"]) + f"?day={day}&amp;format=pdf"
    assert pdf_url in html and "format=xlsx" in html
    assert reverse("api:payment-paper-receipt", args=[payment.pk]) in html
    # The links work for the signed-in page user.
    pdf = client.get(reverse("api:daily-report", args=["BJ"]), {"day": day, "format": "pdf"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    receipt = client.get(reverse("api:payment-paper-receipt", args=[payment.pk]))
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")


def test_daily_report_of_another_day_and_a_bad_day(office: Any, collector: Any) -> None:
    client = client_for(collector)
    assert (
        client.get(reverse("collection:report"), {"day": "2024-02-01"}).context["day"].isoformat()
        == "2024-02-01"
    )
    bad = client.get(reverse("collection:report"), {"day": "yesterday"})
    assert bad.status_code == 200
    assert "day" in bad.context["form"].errors
    assert bad.context["day"] == timezone.localdate()


def test_pages_read_in_chinese_by_default(counter_volume: Volume, collector: Any) -> None:
    client = client_for(collector, language="zh-hans")
    assert "今日记账卷" in client.get(reverse("collection:today")).content.decode()
    entry = client.get(reverse("collection:book", args=[counter_volume.pk])).content.decode()
    assert "缴费人" in entry and "记账" in entry


def test_stylesheet_and_script_are_found() -> None:
    from django.contrib.staticfiles import finders

    assert finders.find("ipdesk/ipdesk.css")
    assert finders.find("collection/entry.js")
