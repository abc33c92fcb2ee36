"""Run the PuYun cascade inside earth2studio's own workflow (``earth2studio.run.deterministic``).

The tests check earth2studio's ``PrognosticModel`` protocol without earth2studio; this script checks it
against the real package (0.19.0, PyPI; it needs no torchvision, but pulls s3fs, gcsfs, pyarrow and pygrib,
which is why zoo-weather does not depend on it). Random initial fields on the 5.625° grid, a tiny
width, 3 steps, in-memory zarr output:

    pip install earth2studio==0.19.0 && python plugins/weather/examples/earth2studio_run.py
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

import zoo
import zoo_weather


def main() -> None:
    import earth2studio.run as run
    from earth2studio.data import Random
    from earth2studio.io import ZarrBackend
    from earth2studio.models.px.base import PrognosticModel

    torch.manual_seed(0)
    models = [zoo.load(f"puyun-{stage}", grid="5.625", embed_dim=8, depth=1).eval()
              for stage in ("short", "medium", "long")]
    for model in models:  # leave persistence, so the output shows the model ran
        torch.nn.init.normal_(model.head.weight, std=1e-3)
    cascade = zoo_weather.Cascade(*models)
    assert isinstance(cascade, PrognosticModel) and isinstance(models[0], PrognosticModel)
    coords = cascade.input_coords()
    data = Random(OrderedDict(lat=coords["lat"], lon=coords["lon"]))
    io = run.deterministic(["2018-01-01T06:00"], 3, cascade, data, ZarrBackend())
    lead = (np.asarray(io["lead_time"][:]) / np.timedelta64(1, "h")).astype(int)
    z500 = np.asarray(io["z500"])
    print(f"earth2studio ran the PuYun cascade: lead times {lead.tolist()} h, z500 {z500.shape}, "
          f"{len([k for k in io.root.keys() if k in zoo_weather.channels.CHANNELS])} of 69 variables written")
    assert z500.shape == (1, 4, 32, 64) and np.isfinite(z500).all()


if __name__ == "__main__":
    main()
