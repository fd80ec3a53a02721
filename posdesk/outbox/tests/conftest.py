# Transactional tests here put back the data-migration rows (districts) after pytest-django's flush.
from posdesk.core.tests.concurrency import pytest_runtest_teardown  # noqa: F401
