"""pytest configuration for the whole checkout (tests and doctests).

Modules that import an optional dependency at the top are not collected for
their doctests when that dependency is missing: the package works without
them, and their tests skip (``pytest.importorskip``).
"""

import importlib.util

_OPTIONAL = {"torch": ["skdeeprnn/_export/_torch.py"]}


def _installed(package):
    try:
        return importlib.util.find_spec(package) is not None
    except ImportError:
        return False


collect_ignore = [
    path for package, paths in _OPTIONAL.items() if not _installed(package) for path in paths
]
