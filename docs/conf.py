"""Sphinx configuration of the skdeeprnn documentation.

Build with ``make -C docs html`` (runs the gallery examples),
``make -C docs html-quick`` (runs them with ``--quick``) or
``make -C docs html-noplot`` (renders the examples without running them).
The build reads nothing from the network: no intersphinx inventories, no
remote images, no version switcher. Nor does the maths on the pages: MathJax
is served from the built site (see "Maths" below).
"""

import importlib.util
import os
import shutil
import sys
from datetime import date
from pathlib import Path

from sphinx.errors import ConfigError

# Build against the source tree next to docs/, whether or not it is installed.
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("sphinxext"))

from gallery_argv import ExampleArgv  # noqa: E402

import skdeeprnn  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "skdeeprnn"
author = "The skdeeprnn developers"
copyright = f"{date.today().year}, {author}"
release = skdeeprnn.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # only to include ../CHANGES.md in changelog.rst
    "top_level_aliases",  # sphinxext/: skdeeprnn.X -> skdeeprnn.preprocessing.X
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"  # single backticks in docstrings render as code
pygments_style = "sphinx"

# -- autodoc / autosummary ---------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
# No autodoc_default_options: the templates in _templates/autosummary/ say
# which members each page shows (a default for "inherited-members" would
# override the class template's own option).
autodoc_typehints = "none"  # the numpydoc sections carry the types

# -- numpydoc ----------------------------------------------------------------
# The class template (_templates/autosummary/class.rst) lists the methods, so
# numpydoc must not add its own member tables.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# Docstring style is checked by ruff's D rules and by the tests, not here.
numpydoc_validation_checks = set()

# -- sphinx-gallery ----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    # ``make html-noplot`` passes -D plot_gallery=0; an unset value runs them.
    "plot_gallery": "True",
    # ``make html-quick`` runs every example with --quick (see sphinxext/).
    "reset_argv": ExampleArgv(),
    "doc_module": ("skdeeprnn",),
    "backreferences_dir": os.path.join("gen_modules", "backreferences"),
    "within_subsection_order": "FileNameSortKey",  # a string needs sphinx-gallery>=0.16
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 5,
    "matplotlib_animations": False,
    # An example that raises fails the build at its end (sphinx-gallery's
    # default); all the examples still run first, so every failure is reported.
    "abort_on_example_error": False,
}

# -- Maths -------------------------------------------------------------------
# sphinx.ext.mathjax points the pages at MathJax on a CDN by default, so offline
# they show raw TeX. The docs extra installs django-static-mathjax, MathJax 3.2.2
# as package data on PyPI (no dependencies; Django is not needed), importable
# as ``mathjax``. Each HTML build copies its TeX-to-HTML component, with the
# folders of files that component loads on demand (fonts, TeX extensions, menu,
# accessibility), to _static/mathjax/; the pages load it from there.
MATHJAX_COMPONENT = "tex-chtml.js"
mathjax_path = f"mathjax/{MATHJAX_COMPONENT}"  # relative: under _static/


def _mathjax_source():
    """The folder of MathJax's browser components in django-static-mathjax."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location) / "static" / "mathjax"
        if (root / "es5" / MATHJAX_COMPONENT).is_file():
            return root
    raise ConfigError(
        f"MathJax's {MATHJAX_COMPONENT} was not found in an installed 'mathjax' package; "
        "install the docs dependencies: pip install -e '.[docs]' (django-static-mathjax)."
    )


def _copy_mathjax(app, exception):
    if app.builder.format != "html":
        return
    source = _mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "es5" / MATHJAX_COMPONENT, target)
    shutil.copy2(source / "LICENSE", target)  # Apache-2.0: travels with the copy
    for folder in (source / "es5").iterdir():
        if folder.is_dir():
            shutil.copytree(folder, target / folder.name, dirs_exist_ok=True)


def setup(app):
    _mathjax_source()  # fail at the start of a build, not after it
    app.connect("build-finished", _copy_mathjax)


# -- myst (Markdown) ---------------------------------------------------------
myst_enable_extensions = []

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdeeprnn {release}"
html_static_path = ["_static"]
html_css_files = ["tables.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    # No version switcher is configured; make sure nothing tries to fetch one.
    "check_switcher": False,
}
html_sidebars = {
    "index": [],
    "install": [],
    "quickstart": [],
    "changelog": [],
}
