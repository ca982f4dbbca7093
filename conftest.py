"""Repository-wide pytest configuration: Hypothesis profiles.

``ci`` (selected when $CI is set) is derandomized so CI runs are reproducible; ``dev`` is the
default; ``deep`` runs many more examples: ``pytest --hypothesis-profile=deep``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("deep", max_examples=1000, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
