"""Shared test configuration: hypothesis profiles and the location of ../shared/data."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# `ci` is deterministic so a red build is reproducible, and it is the default: the README's
# test line must finish in a few minutes on a laptop. `dev` searches six times longer
# (HYPOTHESIS_PROFILE=dev python -m pytest -q; about ten minutes on 2 cores).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data; tests that use it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
