"""The plugin contract.

A plugin is an ordinary distribution with an entry point in the ``zoo.plugins`` group naming a
module that holds ``@zoo.hookimpl`` functions. That module must stay light: it returns specs
(metadata and ``"module:function"`` strings) and imports neither torch nor any model code.

    [project.entry-points."zoo.plugins"]
    medical = "zoo_medical.plugin"

Every hook is optional; implement the ones your plugin needs.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("zoo")


@hookspec
def zoo_models() -> list:
    """Return the :class:`zoo.ModelSpec` objects this plugin registers."""


@hookspec
def zoo_datasets() -> list:
    """Return the :class:`zoo.DatasetSpec` objects this plugin registers."""


@hookspec
def zoo_explainers() -> list:
    """Return the :class:`zoo.ExplainerSpec` objects this plugin registers."""


@hookspec
def zoo_cli(subparsers) -> None:
    """Add sub-commands to ``zoo`` (``subparsers`` is an ``argparse`` sub-parsers action).

    Set ``func`` with ``parser.set_defaults(func=callable)``; the callable receives the parsed
    ``argparse.Namespace`` and returns an exit status.
    """
