"""Command-line arguments for the gallery examples, chosen by ``make html`` / ``make html-quick``.

It lives in its own module rather than in ``conf.py`` because Sphinx pickles
the configuration, and only objects of importable classes pickle.
"""

import os


class ExampleArgv:
    """``sys.argv[1:]`` for every gallery example (sphinx-gallery's ``reset_argv``).

    ``make html-quick`` sets ``SKDEEPRNN_GALLERY_QUICK=1``, which runs each
    example with ``--quick`` (fewer epochs, smaller grids): the same pages and
    figures in a fraction of the time, with poorer numbers. The stable
    ``repr`` lets Sphinx tell whether the configuration changed.
    """

    def __init__(self, quick=None):
        if quick is None:
            quick = os.environ.get("SKDEEPRNN_GALLERY_QUICK", "0") == "1"
        self.quick = bool(quick)

    def __repr__(self):
        return f"ExampleArgv(quick={self.quick})"

    def __call__(self, gallery_conf, script_vars):
        return ["--quick"] if self.quick else []
