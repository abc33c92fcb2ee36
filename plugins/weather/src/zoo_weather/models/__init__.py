"""Model families of zoo-weather: each is a torch module beside a torch-free ``*_specs`` module."""
