"""Test overrides on top of the one settings module."""

import os

os.environ.setdefault("DJANGO_TESTING", "1")

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
# Tasks run inline unless a test starts a real worker.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
