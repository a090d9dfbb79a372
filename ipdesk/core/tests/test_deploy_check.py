"""Production settings: `ipdesk check --deploy` is clean and IPDESK_HTTPS does what it says.

Settings are read once per process, so each case starts `ipdesk` in a subprocess with the
environment a production host would have.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

# Checks a production host may still report. None: drf_spectacular.W001 went with the bearer
# scheme of the schema (ipdesk/accounts/schema.py), so every warning fails the test.
TOLERATED_CHECKS: set[str] = set()

ISSUE_LINE = re.compile(r"^\S+: \((?P<check>[\w.]+)\) .*$", re.MULTILINE)
ISSUE_COUNT = re.compile(r"System check identified (?P<count>\d+|no) issues?")

# Only what a process needs from the test run's environment: the rest (the test settings'
# own variables, a developer's shell) is not what a production host would have.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def production_environment(data_dir: Path, **variables: str) -> dict[str, str]:
    environment = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    environment.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="ipdesk.example.org",
        IPDESK_DATA_DIR=str(data_dir),
        IPDESK_HTTPS="true",
    )
    environment.update(variables)
    return environment


def run_ipdesk(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipdesk", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def deploy_check_issues(environment: dict[str, str]) -> list[tuple[str, str]]:
    """(check id, its line) for every issue `check --deploy` reports."""
    result = run_ipdesk(environment, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    issues = [(match["check"], match.group(0)) for match in ISSUE_LINE.finditer(output)]
    count = ISSUE_COUNT.search(output)
    assert count, output
    # Every issue Django counted was read, so none can slip past the assertions below.
    assert len(issues) == (0 if count["count"] == "no" else int(count["count"])), output
    return issues


def test_check_deploy_with_production_settings_reports_nothing(tmp_path: Path) -> None:
    issues = deploy_check_issues(production_environment(tmp_path))

    remaining = [line for check, line in issues if check not in TOLERATED_CHECKS]
    assert remaining == []


def test_check_deploy_behind_a_tls_proxy_reports_nothing(tmp_path: Path) -> None:
    environment = production_environment(
        tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto=https"
    )

    issues = deploy_check_issues(environment)

    assert [line for check, line in issues if check not in TOLERATED_CHECKS] == []


def test_check_deploy_names_what_is_missing_without_https(tmp_path: Path) -> None:
    environment = production_environment(tmp_path)
    del environment["IPDESK_HTTPS"]

    checks = {check for check, _line in deploy_check_issues(environment)}

    assert {"security.W004", "security.W008"} <= checks  # no HSTS, no redirect to HTTPS


REQUEST_SCRIPT = """
import json
from django.conf import settings
from django.test import Client

client = Client(SERVER_NAME="ipdesk.example.org")
plain = client.get("/")
proxied = client.get("/", headers={"X-Forwarded-Proto": "https"})
print(json.dumps({
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
    "cookies_secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "plain": [plain.status_code, plain.headers.get("Location")],
    "proxied": [proxied.status_code, proxied.headers.get("Strict-Transport-Security")],
}))
"""


def test_https_behind_a_proxy_redirects_plain_http_and_sends_hsts(tmp_path: Path) -> None:
    environment = production_environment(
        tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto=https"
    )

    result = run_ipdesk(
        environment, "shell", "--no-startup", "--verbosity", "0", "--command", REQUEST_SCRIPT
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert answer["cookies_secure"] == [True, True]
    assert answer["plain"] == [301, "https://ipdesk.example.org/"]
    status, hsts = answer["proxied"]
    assert status != 301
    assert hsts == "max-age=31536000; includeSubDomains; preload"


def test_https_parts_can_be_tuned_one_by_one(tmp_path: Path) -> None:
    environment = production_environment(
        tmp_path,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto=https",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
    )

    result = run_ipdesk(
        environment, "shell", "--no-startup", "--verbosity", "0", "--command", REQUEST_SCRIPT
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["proxied"][1] == "max-age=3600"


def test_a_malformed_proxy_header_is_refused_naming_the_variable(tmp_path: Path) -> None:
    environment = production_environment(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")

    result = run_ipdesk(environment, "check", "--deploy")

    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto': expected HEADER=VALUE" in result.stderr
