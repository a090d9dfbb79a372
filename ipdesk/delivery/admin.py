"""Read-only views of the delivery log and wallet apps; changes go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Delivery, WalletBinding, WalletClient


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["pk", "receipt", "channel", "purpose", "target", "status", "attempts"]
    list_filter = ["channel", "status", "purpose"]
    search_fields = ["target"]
    exclude = ["pickup_hash"]


@admin.register(WalletClient)
class WalletClientAdmin(ReadOnly):
    list_display = ["name", "user", "webhook_url", "is_active", "created_at"]
    exclude = ["webhook_secret"]


@admin.register(WalletBinding)
class WalletBindingAdmin(ReadOnly):
    list_display = ["pk", "wallet", "payer", "created_at", "revoked_at"]
    list_filter = ["wallet"]
