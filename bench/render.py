"""Rendering benchmark: receipt PDFs/s and OFDs/s on one core, QR code included.

    .venv/bin/python bench/render.py [N] [--profile]

Sets up a scratch SQLite database in a temporary IPDESK_DATA_DIR (migrated, with a fresh
signing key and development document certificates), issues N receipts (default 300), then
renders each of them once as a PDF and once as an OFD in this process, pinned to one core,
and prints the rates: unsigned (the baseline, the layout alone) and signed as downloads
serve them (the PDF with its PAdES signature, the OFD with its SM2 seal). Every receipt has
its own number and check code, so every rendering encodes its own QR code: nothing is
served from a cache. One receipt is rendered first to load the font and the keys, the way a
worker does once. ``--profile`` prints where the time goes (cProfile, by own time).

Target (DESIGN.md): at least 300 PDFs/s per core (unsigned). A signed document is signed
once per receipt and then served from the cache.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(count: int) -> list[Any]:
    os.environ["IPDESK_DATA_DIR"] = tempfile.mkdtemp(prefix="ipdesk-bench-render-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ipdesk.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from ipdesk.receipts import services, signing
    from ipdesk.receipts.models import Receipt
    from ipdesk.testing import bulk_reviewed_payments

    call_command("migrate", verbosity=0)
    signing.generate_key(Path(settings.IPDESK_SIGNING_KEY_DIR))
    call_command("receipts", "certgen", stdout=open(os.devnull, "w"))  # noqa: SIM115
    ids = bulk_reviewed_payments(count)
    services.issue_receipts(ids)
    return list(Receipt.objects.select_related("series").order_by("pk"))


def rate(name: str, render: Callable[[Any], bytes], receipts: list[Any]) -> None:
    from ipdesk.receipts.qr import qr_matrix

    render(receipts[0])  # load the font, build the per-process tables
    qr_matrix.cache_clear()  # every QR code of the run is encoded afresh
    started = time.perf_counter()
    size = 0
    for receipt in receipts:
        size += len(render(receipt))
    elapsed = time.perf_counter() - started
    print(
        f"{name}: {len(receipts)} in {elapsed:.2f} s = {len(receipts) / elapsed:,.0f}/s "
        f"({elapsed / len(receipts) * 1000:.2f} ms each, {size / len(receipts) / 1024:.1f} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    receipts = setup(args.count)
    print(f"setup: {len(receipts)} receipts issued in {time.perf_counter() - started:.1f} s")

    from ipdesk.receipts.formats import FORMATS
    from ipdesk.receipts.ofd import receipt_ofd
    from ipdesk.receipts.pdf import receipt_pdf
    from ipdesk.receipts.qr import qr_matrix

    renderers = (
        ("PDF", receipt_pdf),
        ("PDF signed", FORMATS["pdf"].render),
        ("OFD", receipt_ofd),
        ("OFD signed", FORMATS["ofd"].render),
    )
    for name, render in renderers:
        rate(name, render, receipts)
    if args.profile:
        for name, render in renderers:
            qr_matrix.cache_clear()
            profiler = cProfile.Profile()
            profiler.enable()
            for receipt in receipts:
                render(receipt)
            profiler.disable()
            print(f"\n== {name}: where the time goes (own time)")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
