"""A Python client generated from the OpenAPI schema (openapi-python-client) works end to end
against a live server: book, close, review, and read the receipt as JSON and PDF."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from ipdesk.testing import PERSON_ID, application_number, pdf_text

# File answers are bytes to the client, whatever their type.
CLIENT_CONFIG = """\
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
  application/ofd: application/octet-stream
  application/xml: application/octet-stream
  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream
"""
PACKAGE = "ipdesk_generated_client"


def generate_client(directory: Path) -> None:
    schema = directory / "openapi.json"
    schema.write_text(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    config = directory / "client.yaml"
    config.write_text(CLIENT_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--output-path",
            str(directory / PACKAGE),
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
        cwd=directory,
    )


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[ModuleType]:
    generate_client(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


@pytest.mark.django_db(transaction=True)
def test_generated_client_books_a_payment_and_fetches_its_receipt(
    client_package: ModuleType, live_server: Any, tmp_path: Path
) -> None:
    from ipdesk.accounts.models import User
    from ipdesk.accounts.services import issue_api_token
    from ipdesk.delivery.services import register_wallet
    from ipdesk.home.demo import load_demo

    load_demo()
    tokens = {
        name: issue_api_token(User.objects.get(username=name), name="generated client")[1]
        for name in ("collector", "reviewer", "payer")
    }
    _wallet, tokens["wallet"], _secret = register_wallet(name="票夹")
    api = module(client_package, "api.v1")
    models = module(client_package, "models")
    authenticated = module(client_package, "client").AuthenticatedClient

    def as_(who: str) -> Any:
        return authenticated(base_url=live_server.url, token=tokens[who])

    def call(name: str, **kwargs: Any) -> Any:
        """An operation of the client by its operationId; a refusal fails the test."""
        response = module(api, name).sync_detailed(**kwargs)
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
        return response.parsed

    # 记账员 books a counter payment at 北京代办处.
    booked = call(
        "v1_payments_create",
        client=as_("collector"),
        idempotency_key="generated-client-1",
        body=models.PaymentInRequest(
            channel=models.ChannelEnum.COUNTER,
            office="BJ",
            payer=models.PayerInRequest(
                name="陈发明",
                kind=models.PayerKindEnum.INDIVIDUAL,
                id_code=PERSON_ID,
                phone="13800138000",
            ),
            application_number=application_number(serial=777),
            lines=[models.LineInRequest(fee_code="application", amount="900.00")],
        ),
    )
    assert isinstance(booked, models.PaymentCreatedOut)
    assert booked.status == models.PaymentStatusEnum.ENTERED
    payment = call("v1_payments_retrieve", client=as_("collector"), id=booked.id)
    assert (payment.total, payment.payer.name, payment.lines[0].fee_code) == (
        "900.00",
        "陈发明",
        "application",
    )
    paper = call("v1_payments_paper_receipt_pdf_retrieve", client=as_("collector"), id=booked.id)
    assert "900.00" in pdf_text(paper.payload.read(), tmp_path)

    # The day's counter volume is closed by its collector and reviewed by the 复核员.
    volume = call(
        "v1_volumes_create",
        client=as_("collector"),
        body=models.VolumeInRequest(office="BJ", kind=models.VolumeKindEnum.COUNTER),
    )
    assert volume.label == payment.volume
    call("v1_volumes_close_create", client=as_("collector"), id=volume.id)
    reviewed = call(
        "v1_volumes_review_create",
        client=as_("reviewer"),
        id=volume.id,
        body=models.ReviewInRequest(approve_overrides=False),
    )
    assert reviewed.status == models.VolumeStatusEnum.REVIEWED
    assert (
        call("v1_payments_retrieve", client=as_("collector"), id=booked.id).status
        == models.PaymentStatusEnum.REVIEWED
    )

    # The payer binds a wallet app, which finds the new receipt by the payer's phone.
    code = call("v1_wallet_my_bindings_code_create", client=as_("payer")).code
    call(
        "v1_wallet_bindings_create",
        client=as_("wallet"),
        body=models.BindingRequest(code=code, phone="13800138000"),
    )
    page = call("v1_wallet_receipts_retrieve", client=as_("wallet"), phone="13800138000")
    [item] = [i for i in page.items if i.total == "900.00" and i.status.value == "valid"]

    # The payer reads the receipt as JSON and as PDF; anyone can verify it (查验).
    receipt = call("v1_receipts_retrieve", client=as_("payer"), code=item.code, number=item.number)
    assert isinstance(receipt, models.ReceiptOut)
    assert (receipt.payment, receipt.total, receipt.kind) == (
        booked.id,
        "900.00",
        models.ReceiptKindEnum.BLUE,
    )
    assert receipt.data.payer.name == "陈发明"
    assert receipt.reversed_by is None
    pdf = call("v1_receipts_pdf_retrieve", client=as_("payer"), code=item.code, number=item.number)
    text = pdf_text(pdf.payload.read(), tmp_path)
    assert item.code in text and item.number in text
    anonymous = module(client_package, "client").Client(base_url=live_server.url)
    verified = call(
        "v1_verify_retrieve",
        client=anonymous,
        code=receipt.code,
        number=receipt.number,
        check_code=receipt.check_code,
        date=receipt.issue_date.isoformat(),
        amount=receipt.total,
    )
    assert verified.status == models.VerificationStatusEnum.GENUINE
    assert verified.payer == "陈发明"

    # A refusal arrives as the typed error body.
    refused = module(api, "v1_payments_retrieve").sync_detailed(client=as_("payer"), id=booked.id)
    assert refused.status_code in (403, 404)
    assert isinstance(refused.parsed, models.ErrorResponse)
    assert refused.parsed.error.code in ("forbidden", "not_found")
