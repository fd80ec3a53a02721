"""Benchmark-only settings: the product's settings unchanged, plus a bare JSON view beside the
product's URLs (bench/urls_bench.py) to measure the framework ceiling in the same server."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_bench"
