"""`posdesk check --deploy` is clean under the production settings."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {
        **os.environ,
        "POSDESK_ENV": "production",
        "POSDESK_SECRET_KEY": "x7!k2@p9#q4$w8%e1^r6&t3*y5(u0)i-o=p+a[s]d{f}g;h:j'k\"l<z>x?c/v",
        "POSDESK_ALLOWED_HOSTS": "posdesk.example.cn",
        "POSDESK_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the test suite for Playwright only
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "posdesk.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**os.environ, "POSDESK_ENV": "production", "POSDESK_DATA_DIR": str(tmp_path)}
    env.pop("POSDESK_SECRET_KEY", None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "posdesk.cli", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "POSDESK_SECRET_KEY" in result.stderr
