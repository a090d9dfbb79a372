"""Suite-wide test fixtures."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import TransactionTestCase
from django.utils import translation

from ipdesk.audit import guards
from ipdesk.core.calendar import calendar


@pytest.fixture(autouse=True, scope="session")
def _transactional_flush_may_empty_audit() -> Iterator[None]:
    """Django empties the database after a transactional test.

    Let it remove audit rows, and put back what the data migrations loaded (the official
    fee schedule and its late-charge bands), which every later test on the same worker relies
    on as it would in production.
    """
    original = TransactionTestCase._fixture_teardown
    schedule = importlib.import_module("ipdesk.tariff.migrations.0002_official_schedule")
    bands = importlib.import_module("ipdesk.tariff.migrations.0004_late_charge_bands")

    def teardown(self: TransactionTestCase) -> None:
        with guards.flush_allowed():
            original(self)
        schedule.load(django_apps, None)
        bands.load_bands(django_apps, None)

    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]
    yield
    TransactionTestCase._fixture_teardown = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Calendar years, rate-limit counters and the language of one test stay in it."""
    calendar.forget()
    cache.clear()
    translation.activate(settings.LANGUAGE_CODE)
    yield
    calendar.forget()


def pytest_configure(config: pytest.Config) -> None:
    # Password hashing is deliberately slow; tests need no protection against brute force.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgresql://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _receipt_signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One Ed25519 key for the whole run, in a directory of its own (never the database)."""
    from ipdesk.receipts import signing

    directory = tmp_path_factory.mktemp("keys")
    signing.generate_key(directory)
    original = settings.IPDESK_SIGNING_KEY_DIR
    settings.IPDESK_SIGNING_KEY_DIR = str(directory)
    signing.keyring.cache_clear()
    yield
    settings.IPDESK_SIGNING_KEY_DIR = original
    signing.keyring.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _document_certificates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A development PDF signing certificate and OFD seal for the whole run, as certgen
    makes them, so every receipt PDF and OFD of the tests is signed as in production."""
    from ipdesk.receipts import certificates

    directory = tmp_path_factory.mktemp("certs")
    certificates.generate_pdf_certificate(directory, settings.IPDESK_RECEIPT_PAYEE)
    certificates.generate_seal_certificate(directory, settings.IPDESK_RECEIPT_PAYEE)
    original = settings.IPDESK_DOCUMENT_CERT_DIR
    settings.IPDESK_DOCUMENT_CERT_DIR = str(directory)
    certificates.document_certificates.cache_clear()
    yield
    settings.IPDESK_DOCUMENT_CERT_DIR = original
    certificates.document_certificates.cache_clear()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = settings.PROJECT_DIR / "test-artifacts"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download: the system one)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM refuses to run
    # where a loop runs unless told that this (test-only) use is safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("IPDESK_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page on the live server, phone-sized; a screenshot is kept of where it ended."""
    context = chromium.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 412, "height": 915}
    )
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


# The agency office and its two bookkeepers (记账员, 复核员), shared by the apps' tests.
@pytest.fixture
def office(db: None) -> Any:
    from ipdesk.accounts.models import OrganisationKind
    from ipdesk.testing import organisation

    return organisation(OrganisationKind.AGENCY_OFFICE, "BJ", name="北京代办处")


@pytest.fixture
def collector(office: Any) -> Any:
    from ipdesk.accounts.models import Role
    from ipdesk.testing import user

    return user(Role.COLLECTOR, "zhang", org=office, full_name="张三")


@pytest.fixture
def reviewer(office: Any) -> Any:
    from ipdesk.accounts.models import Role
    from ipdesk.testing import user

    return user(Role.REVIEWER, "li", org=office, full_name="李四")
