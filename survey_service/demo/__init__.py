"""The demo city (``fill``) and the seeded generator of synthetic data behind it and the
benches (``synthetic``).

No part of serving: ``create_app`` and the request path never import this package; the
command line imports it for its ``demo`` command only
(tests/unit/test_demo_outside_serving.py)."""
