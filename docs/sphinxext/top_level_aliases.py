"""Resolve ``skdeeprnn.<name>`` references to the page of the submodule that defines ``<name>``.

``SlidingWindowTransformer`` and ``make_windows`` are documented under
:mod:`skdeeprnn.preprocessing`, where they live, but are also importable from
the top level, and docstrings and examples refer to them either way
(``:class:`~skdeeprnn.SlidingWindowTransformer```). Sphinx knows only the
documented path; this hook retries an unresolved Python reference under it.
"""

import importlib

# Submodules whose public names are re-exported by the top-level package.
_SUBMODULES = ("skdeeprnn.preprocessing",)


def _aliases():
    """Map ``skdeeprnn.<name>`` to ``<submodule>.<name>`` for every re-exported name."""
    package = importlib.import_module("skdeeprnn")
    aliases = {}
    for submodule_name in _SUBMODULES:
        submodule = importlib.import_module(submodule_name)
        for name in getattr(submodule, "__all__", ()):
            if name in getattr(package, "__all__", ()):
                aliases[f"skdeeprnn.{name}"] = f"{submodule_name}.{name}"
    return aliases


def _resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    for alias, documented in app.env.skdeeprnn_aliases.items():
        if target == alias or target.startswith(alias + "."):
            new_target = documented + target[len(alias) :]
            domain = env.get_domain("py")
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], new_target, node, contnode
            )
    return None


def _store_aliases(app):
    app.env.skdeeprnn_aliases = _aliases()


def setup(app):
    """Register the hook (a Sphinx extension)."""
    app.connect("builder-inited", _store_aliases)
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
