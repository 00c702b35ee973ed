"""Settings of the bare Django send baseline (`bench.baselines.bare_django`): the project's
own, every value from the same environment, with one more URL in front of the project's."""

from __future__ import annotations

from chatproject.settings import *  # noqa: F403
from chatproject.settings import _HOST_LABEL  # noqa: F401  (read as settings._HOST_LABEL)

ROOT_URLCONF = "bench.baselines.bare_django"
