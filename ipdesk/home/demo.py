"""Demo data for ``make run``: the fee office, three agency offices, one user per role and
a few payers. Loading twice changes nothing; later apps add their own demo data here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ipdesk.accounts.models import Organisation, OrganisationKind, Role, User
from ipdesk.accounts.services import create_organisation, create_user
from ipdesk.receipts import certificates, signing

DEMO_PASSWORD = os.environ.get("IPDESK_DEMO_PASSWORD", "ipdesk-demo-2026")

ORGANISATIONS = [
    dict(
        kind=OrganisationKind.FEE_OFFICE,
        code="CNIPA",
        name="国家知识产权局专利局收费处",
        name_en="CNIPA Patent Office Fee Office",
        credit_code="11100000MB0123456X",
        bank_name="中国工商银行北京海淀支行",
        bank_account="0200004509089131550",
    ),
    dict(
        kind=OrganisationKind.AGENCY_OFFICE,
        code="BJ",
        name="北京代办处",
        name_en="Beijing Agency Office",
        bank_name="中国银行北京中关村支行",
        bank_account="3419 5602 1188",
    ),
    dict(
        kind=OrganisationKind.AGENCY_OFFICE,
        code="SH",
        name="上海代办处",
        name_en="Shanghai Agency Office",
        bank_name="交通银行上海徐汇支行",
        bank_account="3100 6658 0018 0003 21775",
    ),
    dict(
        kind=OrganisationKind.AGENCY_OFFICE,
        code="GZ",
        name="广州代办处",
        name_en="Guangzhou Agency Office",
        bank_name="中国建设银行广州天河支行",
        bank_account="4405 0110 0624 0000 1888",
    ),
    dict(
        kind=OrganisationKind.PATENT_AGENCY,
        code="AG-ZHIXIN",
        name="北京智信专利代理事务所",
        name_en="Zhixin Patent Agency",
        credit_code="91110108MA01ABCD2H",
    ),
    dict(
        kind=OrganisationKind.ENTERPRISE,
        code="ENT-HAIXIN",
        name="上海海芯半导体有限公司",
        name_en="Haixin Semiconductor Co., Ltd.",
        credit_code="91310115MA1K4XY73E",
    ),
]

USERS = [
    dict(username="collector", role=Role.COLLECTOR, org="BJ", full_name="张记账"),
    dict(username="reviewer", role=Role.REVIEWER, org="BJ", full_name="李复核"),
    dict(username="clerk", role=Role.FEE_CLERK, org="CNIPA", full_name="王收费"),
    dict(username="auditor", role=Role.AUDITOR, org="CNIPA", full_name="赵审计"),
    dict(username="admin", role=Role.ADMIN, org="CNIPA", full_name="系统管理员"),
    dict(username="payer", role=Role.PAYER, org=None, full_name="陈发明", phone="13800138000"),
    dict(username="agency", role=Role.PAYER, org="AG-ZHIXIN", full_name="智信代理"),
    dict(username="enterprise", role=Role.PAYER, org="ENT-HAIXIN", full_name="海芯财务"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    organisation: str


def load_demo() -> list[DemoLogin]:
    """Create what is missing; return the demo logins."""
    if signing.keyring().signer is None:
        # Receipts need a signing key; the demo makes one in the data directory.
        signing.generate_key(Path(settings.IPDESK_SIGNING_KEY_DIR))
    # ...and certificates for their PDFs and OFDs: development ones, as `receipts certgen`.
    certs = certificates.document_certificates()
    cert_dir = Path(settings.IPDESK_DOCUMENT_CERT_DIR)
    if certs.signer(certificates.PDF) is None:
        certificates.generate_pdf_certificate(cert_dir, settings.IPDESK_RECEIPT_PAYEE)
    if certs.signer(certificates.SEAL) is None:
        certificates.generate_seal_certificate(cert_dir, settings.IPDESK_RECEIPT_PAYEE)
    with transaction.atomic():
        for spec in ORGANISATIONS:
            if not Organisation.objects.filter(code=spec["code"]).exists():
                create_organisation(**spec)  # type: ignore[arg-type]
        logins = []
        for spec in USERS:
            org = Organisation.objects.get(code=spec["org"]) if spec["org"] else None
            if not User.objects.filter(username=spec["username"]).exists():
                create_user(
                    username=str(spec["username"]),
                    password=DEMO_PASSWORD,
                    role=str(spec["role"]),
                    organisation=org,
                    full_name=str(spec["full_name"]),
                    phone=str(spec.get("phone", "")),
                )
            logins.append(
                DemoLogin(
                    str(spec["username"]), DEMO_PASSWORD, str(spec["role"]), org.name if org else ""
                )
            )
    return logins


DEMO_PAYMENTS = [
    # (payer, kind, id code, phone, e-mail, agency code, application serial, fee lines)
    (
        "陈发明",
        "individual",
        "11010519491231002X",
        "13800138000",
        "",
        None,
        1,
        [("application", "900.00", None)],
    ),
    (
        "上海海芯半导体有限公司",
        "unit",
        "91310115MA1K4XY73E",
        "",
        "",
        "AG-ZHIXIN",
        2,
        [("application", "900.00", None), ("examination", "2500.00", None)],
    ),
    (
        "上海海芯半导体有限公司",
        "unit",
        "91310115MA1K4XY73E",
        "",
        "",
        "AG-ZHIXIN",
        3,
        [("publication_printing", "50.00", None)],
    ),
    (
        "陈发明",
        "individual",
        "11010519491231002X",
        "13800138000",
        "",
        None,
        4,
        [("priority", "80.00", None)],
    ),
]


def load_demo_payments() -> int:
    """Book, close and review a day of counter payments at 北京代办处 (their receipts follow).

    Only when the office has booked nothing yet; returns how many payments were booked.
    """
    from django.utils import timezone

    from ipdesk.collection import services as collection
    from ipdesk.collection.models import Channel, Payment, VolumeKind
    from ipdesk.core.identifiers import application_check_digit

    office = Organisation.objects.get(code="BJ")
    if Payment.objects.filter(office=office).exists():
        return 0
    collector = User.objects.get(username="collector")
    reviewer = User.objects.get(username="reviewer")
    today = timezone.localdate()
    volume = collection.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=today, actor=collector
    )
    for name, kind, id_code, phone, email, agency, serial, lines in DEMO_PAYMENTS:
        first12 = f"{today.year - 1}1{serial:07d}"
        collection.book_payment(
            volume=volume,
            data=collection.BookingData(
                channel=Channel.COUNTER,
                payer=collection.PayerData(
                    name=name, kind=kind, id_code=id_code, phone=phone, email=email
                ),
                application_number=first12 + application_check_digit(first12),
                lines=[
                    collection.LineData(fee_code=fee, amount=amount, year=year)
                    for fee, amount, year in lines
                ],
                dates=collection.ChannelDates(received_on=today),
                agency=Organisation.objects.get(code=agency) if agency else None,
            ),
            actor=collector,
        )
    collection.close_volume(volume, actor=collector)
    collection.review_volume(volume, actor=reviewer)
    return len(DEMO_PAYMENTS)
