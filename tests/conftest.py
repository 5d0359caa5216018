import pytest


@pytest.fixture(autouse=True)
def _fast_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _anymail_test_backend(settings):
    # Django's test runner swaps EMAIL_BACKEND for locmem at set-up; put anymail's test backend
    # back so every test sees the ESP-shaped message (anymail_status, tags, metadata).
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
