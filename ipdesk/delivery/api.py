"""Delivery over the API: send to e-mail, pickup by code (取票码), wallet apps (电子票夹)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts import policy
from ipdesk.core.errors import InvalidInput, NotFound
from ipdesk.core.identifiers import validate_mobile
from ipdesk.core.rest import optional_int
from ipdesk.core.schema import (
    FileAnswerNegotiation,
    IsoDateTimeField,
    MoneyField,
    error_responses,
    file_responses,
)
from ipdesk.receipts import documents
from ipdesk.receipts.codes import CODE_RE, NUMBER_RE
from ipdesk.receipts.formats import FORMATS
from ipdesk.receipts.models import Receipt, ReceiptKind
from ipdesk.receipts.selectors import readable_receipts

from . import selectors, services
from .models import Status, WalletClient
from .pickup import parse_pickup, picked_up, pickup_links
from .throttles import BindingThrottle, PickupThrottle, SendThrottle


def file_type(fmt: str) -> str:
    return FORMATS[fmt].content_type.split(";")[0]


# --- send to e-mail --------------------------------------------------------------------------


def readable_receipt(user: Any, code: str, number: str) -> Receipt:
    receipt = None
    if CODE_RE.match(code) and NUMBER_RE.match(number):
        receipt = readable_receipts(user).filter(series__code=code, number=int(number)).first()
    if receipt is None:
        raise NotFound(_("No such receipt, or it is not yours to read."))
    return receipt


class SendSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=1000, allow_blank=True)


class SentOut(serializers.Serializer):
    delivery = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Status.choices)
    email = serializers.CharField()


class SendReceiptApi(APIView):
    """E-mail a receipt (PDF and OFD attached, with a pickup code) to any address."""

    throttle_classes = [SendThrottle]

    @extend_schema(request=SendSerializer, responses={202: SentOut})
    def post(self, request: Request, code: str, number: str) -> Response:
        receipt = readable_receipt(request.user, code, number)
        form = SendSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        delivery = services.send_receipt_to(
            receipt,
            email=form.validated_data["email"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(
            SentOut(
                {"delivery": delivery.pk, "status": delivery.status, "email": delivery.target}
            ).data,
            status=202,
        )


# --- pickup by code --------------------------------------------------------------------------


class ReceiptItemOut(serializers.Serializer):
    """A receipt as a wallet app sees it in lists and webhooks."""

    id = serializers.IntegerField()
    code = serializers.CharField(help_text="票据代码")
    number = serializers.CharField(help_text="票据号码")
    kind = serializers.ChoiceField(choices=ReceiptKind.choices)
    date = serializers.DateField()
    total = MoneyField()
    payer = serializers.CharField()
    status = serializers.ChoiceField(choices=["valid", "reversed"])


class PickupLinksOut(serializers.Serializer):
    pdf = serializers.CharField()
    ofd = serializers.CharField()
    xml = serializers.CharField()


class PickedUpOut(ReceiptItemOut):
    documents = PickupLinksOut(help_text="where to download each file")


class PickupApi(APIView):
    """Anonymous pickup: the receipt an e-mailed pickup code opens, or its file."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [PickupThrottle]
    content_negotiation_class = FileAnswerNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("code", str, required=True, description="取票码, 8 characters"),
            OpenApiParameter("number", str, required=True, description="票据号码"),
            OpenApiParameter(
                "format", str, enum=list(FORMATS), description="the file itself, not its facts"
            ),
        ],
        responses={
            200: PickedUpOut,
            **file_responses(*(file_type(fmt) for fmt in FORMATS)),
            **error_responses(404),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        code, number, fmt = parse_pickup(request.query_params)
        receipt = picked_up(code, number)
        if fmt:
            return documents.download(receipt, fmt)
        return Response(
            PickedUpOut(
                {**selectors.receipt_item(receipt), "documents": pickup_links(code, receipt)}
            ).data
        )


# --- wallet apps -----------------------------------------------------------------------------


class IsWalletApp(BasePermission):
    message = "forbidden"

    def has_permission(self, request: Request, view: Any) -> bool:
        wallet = selectors.wallet_of(request.user)
        request.wallet = wallet  # type: ignore[attr-defined]
        return wallet is not None


def _wallet(request: Request) -> WalletClient:
    wallet: WalletClient = request.wallet  # type: ignore[attr-defined]
    return wallet


def _phone(params: Any) -> str:
    try:
        return validate_mobile(params.get("phone") or "")
    except Exception as exc:
        raise InvalidInput(fields={"phone": getattr(exc, "messages", [str(exc)])}) from None


class BindingOut(serializers.Serializer):
    id = serializers.IntegerField()
    wallet = serializers.CharField(source="wallet.name")
    created_at = IsoDateTimeField()


class BindingsOut(serializers.Serializer):
    items = BindingOut(many=True)


class BoundOut(serializers.Serializer):
    binding = serializers.IntegerField()
    phone = serializers.CharField()
    bound = serializers.BooleanField()


class WalletReceiptsPage(serializers.Serializer):
    items = ReceiptItemOut(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="pass as `after` for the next page; null on the last page"
    )


class BindingCodeOut(serializers.Serializer):
    code = serializers.CharField(help_text="give it to the wallet app; shown once")
    expires_at = IsoDateTimeField()


class BindingSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, allow_blank=True)
    phone = serializers.CharField(max_length=40, allow_blank=True)


class WalletBindingApi(APIView):
    """A wallet app completes a binding with the code the payer gave it."""

    permission_classes = [IsWalletApp]
    throttle_classes = [BindingThrottle]

    @extend_schema(request=BindingSerializer, responses={201: BoundOut})
    def post(self, request: Request) -> Response:
        form = BindingSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        binding = services.complete_binding(
            _wallet(request), code=form.validated_data["code"], phone=form.validated_data["phone"]
        )
        return Response(
            BoundOut({"binding": binding.pk, "phone": binding.payer.phone, "bound": True}).data,
            status=201,
        )


class WalletReceiptsApi(APIView):
    """The receipts paid with a bound payer's phone, oldest first, keyset by ``after``."""

    permission_classes = [IsWalletApp]

    @extend_schema(
        parameters=[
            OpenApiParameter("phone", str, required=True),
            OpenApiParameter("after", int, description="the last id of the previous page"),
            OpenApiParameter("limit", int, description="1 to 500, default 100"),
        ],
        responses={200: WalletReceiptsPage, **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        phone = _phone(request.query_params)
        after = optional_int(request.query_params, "after", low=0, high=2**63 - 1)
        limit = optional_int(request.query_params, "limit", low=0, high=500) or 100
        wallet = _wallet(request)
        if not selectors.wallet_bound_to(wallet, phone):
            raise NotFound(_("No payer with this mobile number has bound your wallet app."))
        page = list(selectors.wallet_receipts(wallet, phone).filter(pk__gt=after)[: limit + 1])
        items = [selectors.receipt_item(r) for r in page[:limit]]
        return Response(
            WalletReceiptsPage(
                {"items": items, "next_after": items[-1]["id"] if len(page) > limit else None}
            ).data
        )


class WalletDocumentApi(APIView):
    permission_classes = [IsWalletApp]
    content_negotiation_class = FileAnswerNegotiation
    fmt = "pdf"

    @property
    def file_content_type(self) -> str:
        """The file this view answers, for the schema."""
        return file_type(self.fmt)

    def get(self, request: Request, code: str, number: str) -> HttpResponse:
        receipt = None
        if CODE_RE.match(code) and NUMBER_RE.match(number):
            receipt = (
                selectors.wallet_receipts(_wallet(request))
                .filter(series__code=code, number=int(number))
                .first()
            )
        if receipt is None:
            raise NotFound(_("No such receipt, or no payer has shared it with your wallet app."))
        return documents.download(receipt, self.fmt)


class MyBindingsApi(APIView):
    """The payer's own wallet bindings."""

    permission_classes = [policy.role_permission(policy.PAYERS)]

    @extend_schema(responses={200: BindingsOut})
    def get(self, request: Request) -> Response:
        bindings = selectors.active_bindings(request.user)  # type: ignore[arg-type]
        return Response(BindingsOut({"items": bindings}).data)


class MyBindingApi(APIView):
    permission_classes = [policy.role_permission(policy.PAYERS)]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, binding_id: int) -> Response:
        binding = selectors.binding_of(request.user, binding_id)  # type: ignore[arg-type]
        if binding is None:
            raise NotFound(_("No such wallet binding."))
        services.revoke_binding(binding, actor=request.user)  # type: ignore[arg-type]
        return Response(status=204)


class StartBindingApi(APIView):
    """The payer asks for a binding code to give a wallet app (shown once)."""

    permission_classes = [policy.role_permission(policy.PAYERS)]

    @extend_schema(request=None, responses={201: BindingCodeOut, **error_responses(400)})
    def post(self, request: Request) -> Response:
        binding_code, code = services.start_binding(request.user)  # type: ignore[arg-type]
        return Response(
            BindingCodeOut({"code": code, "expires_at": binding_code.expires_at}).data, status=201
        )


def _document_view(fmt: str) -> Any:
    view: type[WalletDocumentApi] = type(
        f"Wallet{fmt.title()}Api", (WalletDocumentApi,), {"fmt": fmt}
    )
    return view.as_view()


urlpatterns = [
    path("receipts/<str:code>/<str:number>/send", SendReceiptApi.as_view(), name="receipt-send"),
    path("pickup", PickupApi.as_view(), name="pickup"),
    path("wallet/bindings", WalletBindingApi.as_view(), name="wallet-bindings"),
    path("wallet/receipts", WalletReceiptsApi.as_view(), name="wallet-receipts"),
    *[
        path(
            f"wallet/receipts/<str:code>/<str:number>/{fmt}",
            _document_view(fmt),
            name=f"wallet-receipt-{fmt}",
        )
        for fmt in FORMATS
    ],
    path("wallet/my-bindings", MyBindingsApi.as_view(), name="wallet-my-bindings"),
    path("wallet/my-bindings/code", StartBindingApi.as_view(), name="wallet-binding-code"),
    path("wallet/my-bindings/<int:binding_id>", MyBindingApi.as_view(), name="wallet-my-binding"),
]
