"""The e-mail a payer gets with a receipt: Chinese text, one English line, PDF and OFD."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from ipdesk.core.money import money_str
from ipdesk.receipts import documents
from ipdesk.receipts.formats import attached_to_email
from ipdesk.receipts.models import Receipt, ReceiptKind


def _url(name: str) -> str:
    return settings.IPDESK_PUBLIC_URL.rstrip("/") + reverse(name)


def _facts(receipt: Receipt, pickup_code: str) -> dict[str, str]:
    facts = {
        "payer": receipt.payer_name,
        "code": receipt.series.code,
        "number": receipt.number_text,
        "date": receipt.issue_date.isoformat(),
        "amount": money_str(receipt.total),
        "pickup": pickup_code,
        "pickup_url": _url("delivery:pickup"),
        "verify_url": _url("receipts:verify"),
        "original_code": "",
        "original_number": "",
    }
    if receipt.original is not None:
        facts["original_code"] = receipt.original.series.code
        facts["original_number"] = receipt.original.number_text
    return facts


def _text(receipt: Receipt, facts: dict[str, str]) -> tuple[str, str]:
    """Subject and body in the active language."""
    if receipt.kind == ReceiptKind.RED:
        subject = _("Receipt %(original_code)s-%(original_number)s reversed") % facts
        intro = _(
            "Your receipt %(original_code)s-%(original_number)s has been reversed by the "
            "red-letter receipt (冲红) below; the original is no longer valid."
        )
    else:
        subject = _("Electronic receipt %(code)s-%(number)s") % facts
        intro = _("Your fiscal electronic receipt (财政电子票据) has been issued.")
    lines = [
        _("Dear %(payer)s,") % facts,
        "",
        intro % facts,
        "",
        _("Receipt code (票据代码): %(code)s") % facts,
        _("Receipt number (票据号码): %(number)s") % facts,
        _("Issue date (开票日期): %(date)s") % facts,
        _("Amount (金额): %(amount)s yuan") % facts,
        _("Pickup code (取票码): %(pickup)s") % facts,
        "",
        _(
            "The PDF and OFD files are attached. You can download the receipt again at "
            "%(pickup_url)s with the pickup code and the receipt number, and anyone can "
            "verify it at %(verify_url)s."
        )
        % facts,
    ]
    return subject, "\n".join(lines)


def compose(receipt: Receipt, *, to: str, pickup_code: str) -> EmailMessage:
    facts = _facts(receipt, pickup_code)
    with translation.override("zh-hans"):
        subject, body = _text(receipt, facts)
    with translation.override("en"):
        english_subject, _body = _text(receipt, facts)
        if receipt.kind == ReceiptKind.RED:
            english = _(
                "Receipt %(original_code)s-%(original_number)s has been reversed by "
                "%(code)s-%(number)s (CNY %(amount)s); pickup code %(pickup)s."
            )
        else:
            english = _(
                "Your electronic receipt %(code)s-%(number)s for CNY %(amount)s is attached; "
                "pickup code %(pickup)s."
            )
    if english_subject != subject:
        subject = f"{subject} / {english_subject}"
    body = f"{body}\n\n{english % facts}\n"
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    for fmt in attached_to_email():
        message.attach(
            documents.filename(receipt, fmt.code),
            documents.render(receipt, fmt.code),
            fmt.content_type,
        )
    return message
