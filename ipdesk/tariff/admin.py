from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import FeeRate, FeeType, LateChargeBand, ScheduleVersion


@admin.register(FeeType)
class FeeTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "basis", "reducible"]


class FeeRateInline(admin.TabularInline):
    model = FeeRate
    extra = 0
    can_delete = False
    fields = ["fee_type", "patent_kind", "band_from", "band_to", "filed_from", "amount", "note"]
    readonly_fields = fields


class LateChargeBandInline(admin.TabularInline):
    model = LateChargeBand
    extra = 0
    can_delete = False
    fields = ["month", "percent"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScheduleVersion)
class ScheduleVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are added with ``ipdesk fees add-version`` (validated and audited)."""

    list_display = ["valid_from", "name", "reduction_annual_years"]
    inlines = [LateChargeBandInline, FeeRateInline]
    readonly_fields = ["valid_from", "name", "source", "reduction_annual_years", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
