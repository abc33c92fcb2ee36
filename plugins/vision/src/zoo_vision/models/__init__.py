"""One module per model family; each exposes build_* functions named by the plugin's specs."""
