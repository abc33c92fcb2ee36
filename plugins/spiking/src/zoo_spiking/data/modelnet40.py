"""ModelNet40 reader for point-cloud models, with E-3DSNN's preprocessing.

Reads either published format from a local ``root`` (never downloads):

* ``modelnet40_normal_resampled`` (PointNet++): ``modelnet40_shape_names.txt``,
  ``modelnet40_{train,test}.txt`` (one shape id per line, e.g. ``airplane_0001``) and
  ``<class>/<id>.txt`` with 10,000 lines ``x,y,z,nx,ny,nz``;
* the original meshes (Wu et al., "3D ShapeNets", CVPR 2015, arXiv:1406.5670):
  ``<class>/{train,test}/<id>.off``; 10,000 points with face normals are sampled on each surface.

Each item is ``(coords [M, 3] int64, feats [M, 6] float32, label)``, prepared as in the authors'
Pointcept configs (Qiu et al., arXiv:2412.07360): 8,192 points by farthest-point sampling,
centred and scaled into the unit sphere, train-time random scale [0.9, 1.1] and shift +-0.2 per
axis, grid sampling at 0.01 keeping one point per voxel; features are the normalised xyz and the
normal. Batch items with :func:`zoo_spiking.data.collate_labelled`.

Farthest-point sampling runs in torch on the CPU (about 1 s per 10k-point shape); pass ``cache_dir``
to keep the sampled points (``.pt`` tensors, read back with ``weights_only=True``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from zoo.errors import DatasetNotFoundError
from zoo.specs import DatasetSpec, Paper

NAME = "modelnet40"
HOMEPAGE = "https://modelnet.cs.princeton.edu/"
LAYOUT = (
    "modelnet40_shape_names.txt, modelnet40_{train,test}.txt, <class>/<class>_NNNN.txt "
    "(modelnet40_normal_resampled: 10,000 'x,y,z,nx,ny,nz' lines per shape) "
    "or <class>/{train,test}/<class>_NNNN.off (ModelNet40 meshes)"
)

DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name=NAME, domain="spiking", task="point-cloud-classification",
        builder="zoo_spiking.data.modelnet40:ModelNet40", layout=LAYOUT,
        homepage=f"{HOMEPAGE} (meshes); modelnet40_normal_resampled.zip "
                 "from the PointNet++ authors (resampled points with normals)",
        splits=("train", "test"),
        paper=Paper("3D ShapeNets: A Deep Representation for Volumetric Shapes", arxiv="1406.5670",
                    venue="CVPR 2015"),
        description="40 CAD classes (9,843 train / 2,468 test). E-3DSNN preprocessing: 8,192 points by "
                    "farthest-point sampling, unit sphere, voxel 0.01, features xyz + normal.",
    ),
)


def read_off(path: str | Path):
    """Vertices ``[V, 3]`` and triangles ``[F, 3]`` of an OFF mesh (polygons are fan-triangulated).

    Accepts ModelNet's malformed header ``OFF<V> <F> <E>`` on one line and ``#`` comments.
    """
    import numpy as np
    import torch

    lines = [ln.split("#", 1)[0].strip() for ln in Path(path).read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or not lines[0].startswith("OFF"):
        raise ValueError(f"{path}: not an OFF file (first line {lines[0][:20] if lines else ''!r})")
    rest = lines[0][3:].split()
    body = lines[1:]
    if not rest:
        rest, body = body[0].split(), body[1:]
    num_vertices, num_faces = int(rest[0]), int(rest[1])
    verts = np.array([ln.split()[:3] for ln in body[:num_vertices]], dtype=np.float64)
    faces = []
    for ln in body[num_vertices:num_vertices + num_faces]:
        values = [int(v) for v in ln.split()]
        polygon = values[1:1 + values[0]]
        faces += [(polygon[0], polygon[i], polygon[i + 1]) for i in range(1, len(polygon) - 1)]
    return torch.from_numpy(verts.reshape(-1, 3)), torch.tensor(faces, dtype=torch.long).reshape(-1, 3)


class ModelNet40:
    """ModelNet40 from ``root`` (either published layout); item -> ``(coords, feats, label)``.

    A map-style dataset (``len`` and indexing), usable with ``torch.utils.data.DataLoader``.
    """

    NAME = NAME

    def __init__(self, root: str | Path, split: str = "train", num_points: int = 8192, grid_size: float = 0.01,
                 augment: bool | None = None, surface_points: int = 10_000, cache_dir: str | Path | None = None):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.root, self.split = Path(root), split
        self.num_points, self.grid_size, self.surface_points = num_points, grid_size, surface_points
        self.augment = split == "train" if augment is None else augment
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if not self.root.is_dir():
            raise DatasetNotFoundError(self.NAME, str(self.root), LAYOUT, HOMEPAGE)
        names_file = self.root / "modelnet40_shape_names.txt"
        if names_file.is_file():
            self.format = "resampled"
            self.classes = [c.strip() for c in names_file.read_text().splitlines() if c.strip()]
            list_file = self.root / f"modelnet40_{split}.txt"
            if not list_file.is_file():
                raise DatasetNotFoundError(self.NAME, str(self.root), LAYOUT, HOMEPAGE)
            ids = [s.strip() for s in list_file.read_text().splitlines() if s.strip()]
            self.items = [(self.root / i.rsplit("_", 1)[0] / f"{i}.txt", self.classes.index(i.rsplit("_", 1)[0]))
                          for i in ids]
        else:
            self.format = "off"
            self.classes = sorted(d.name for d in self.root.iterdir() if (d / split).is_dir())
            self.items = [(f, label) for label, c in enumerate(self.classes)
                          for f in sorted((self.root / c / split).glob("*.off"))]
        if not self.items:
            raise DatasetNotFoundError(self.NAME, str(self.root), LAYOUT, HOMEPAGE)

    def __len__(self) -> int:
        return len(self.items)

    def points(self, index: int):
        """The ``num_points`` farthest-point-sampled points ``[P, 3]`` and normals ``[P, 3]`` of item ``index``
        (not normalised)."""
        import numpy as np
        import torch

        from zoo_spiking.data.shapes import sample_mesh
        from zoo_spiking.data.voxel import farthest_point_sample

        path, _ = self.items[index]
        cached = None
        if self.cache_dir is not None:
            tag = hashlib.sha1(f"{path}|{self.num_points}|{self.surface_points}".encode()).hexdigest()[:16]
            cached = self.cache_dir / f"{path.stem}-{tag}.pt"
            if cached.is_file():
                data = torch.load(cached, weights_only=True)
                return data[:, :3], data[:, 3:]
        if self.format == "resampled":
            data = torch.from_numpy(np.loadtxt(path, delimiter=",", dtype=np.float32).reshape(-1, 6))
            points, normals = data[:, :3], data[:, 3:]
        else:
            verts, faces = read_off(path)
            g = torch.Generator().manual_seed(index)
            points, normals = sample_mesh(verts, faces, self.surface_points, generator=g)
        keep = farthest_point_sample(points, self.num_points)
        points, normals = points[keep], normals[keep]
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.save(torch.cat([points, normals], 1), cached)
        return points, normals

    def __getitem__(self, index: int):
        import torch

        from zoo_spiking.data.voxel import normalize_coord, voxelize

        points, normals = self.points(index)
        points = normalize_coord(points)
        generator = None
        if self.augment:
            # drawn from the global RNG, so torch.manual_seed and DataLoader worker seeding apply
            generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
            scale = torch.empty(()).uniform_(0.9, 1.1, generator=generator)
            shift = torch.empty(3).uniform_(-0.2, 0.2, generator=generator)
            points = points * scale + shift
        # Evaluation keeps the first point of each voxel (reproducible); the authors pick a random
        # one at test time too, which makes their accuracy vary by a few tenths between runs.
        coords, feats = voxelize(points, normals, self.grid_size, generator=generator)
        return coords, feats, self.items[index][1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @staticmethod
    def collate(items):
        """Batches for ``DataLoader`` and ``zoo.train``: ``((coords, feats, batch), labels)``."""
        from zoo_spiking.data.voxel import collate_labelled

        return collate_labelled(items)
