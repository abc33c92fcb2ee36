"""An example zoo plugin (see docs/plugin-authors.md)."""
