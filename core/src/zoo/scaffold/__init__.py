"""``zoo plugin new NAME``: a third-party plugin in the layout docs/plugin-authors.md describes.

What it writes (one model family with its torch-free spec module, one dataset reader, the one-call
conformance test) installs as generated and passes the conformance kit; the test suite checks it
does, and the plugin-author guide shows these very files (``docs/gen_plugin_guide.py``).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

from zoo.errors import ConfigError

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def template_files() -> list[str]:
    """Relative paths of the template, in the order the guide shows them."""
    index = resources.files(__package__).joinpath("template", "FILES").read_text()
    return [line.strip() for line in index.splitlines() if line.strip()]


def render(name: str) -> dict[str, str]:
    """The files of plugin ``name``: relative path -> text."""
    if not PLUGIN_NAME.match(name):
        raise ConfigError(f"plugin name {name!r} must be lower-case kebab-case, e.g. 'acme' or 'acme-vision'")
    package = "zoo_" + name.replace("-", "_")
    values = {"plugin": name, "package": package, "distribution": f"zoo-{name}"}
    files = {}
    for relative in template_files():
        text = resources.files(__package__).joinpath("template", relative + ".tmpl").read_text()
        files[relative.replace("PACKAGE", package)] = Template(text).substitute(values)
    return files


def new_plugin(name: str, directory: str | Path) -> Path:
    """Write plugin ``name`` into ``directory/zoo-<name>`` (which must not exist) and return that folder."""
    files = render(name)
    target = Path(directory).expanduser() / f"zoo-{name}"
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another name or folder")
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target
