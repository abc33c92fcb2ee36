"""zoo-lipreading: word-level lipreading for the zoo, from a video of a face to the words it says.

Models (registered by :mod:`zoo_lipreading.plugin`, built lazily): TD3Net (``td3net-base``,
``td3net-best``, ``td3net-best-wb``; Lee et al., arXiv:2506.16073) and mpc001's baselines MS-TCN
(``ms-tcn``; arXiv:2001.08702) and DC-TCN (``dc-tcn``, ``dc-tcn-wb``; arXiv:2009.14233).

Importing this package imports no torch; its submodules do.
"""


def __getattr__(name: str):
    # read_lips is the package's front door; importing it lazily keeps `import zoo_lipreading` light.
    if name == "read_lips":
        from zoo_lipreading.video import read_lips

        return read_lips
    raise AttributeError(f"module 'zoo_lipreading' has no attribute {name!r}")
