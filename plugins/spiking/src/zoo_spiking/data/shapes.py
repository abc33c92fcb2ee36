"""A small built-in set of real-geometry shapes, for demos and tests that must run offline.

Each class is a closed triangle mesh generated here (sphere, cube, cylinder, cone, torus, square
pyramid). Points are sampled uniformly on the surface (area-weighted triangles, uniform
barycentric coordinates) with the outward face normal, so a sample looks like a
``modelnet40_normal_resampled`` record: ``[N, 3]`` points and ``[N, 3]`` unit normals.
"""

from __future__ import annotations

import math

import torch

SHAPE_NAMES = ("sphere", "cube", "cylinder", "cone", "torus", "pyramid")

_TORUS_R, _TORUS_r = 0.7, 0.3


def _grid_faces(rows: int, cols: int, wrap_cols: bool) -> torch.Tensor:
    """Two triangles per cell of a ``rows x cols`` vertex grid (indices row-major)."""
    faces = []
    last = cols if wrap_cols else cols - 1
    for i in range(rows - 1):
        for j in range(last):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            c, d = a + cols, b + cols
            faces += [(a, b, d), (a, d, c)]
    return torch.tensor(faces, dtype=torch.long)


def _ring(n: int, radius: float, z: float) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    return torch.stack([radius * torch.cos(t), radius * torch.sin(t), torch.full_like(t, z)], 1)


def _fan(centre_index: int, ring_start: int, n: int) -> list[tuple[int, int, int]]:
    return [(centre_index, ring_start + j, ring_start + (j + 1) % n) for j in range(n)]


def make_mesh(name: str, resolution: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertices ``[V, 3]`` (float64) and triangles ``[F, 3]`` of a closed mesh inside the unit sphere."""
    n = resolution
    if name == "sphere":
        lat = torch.linspace(0, math.pi, n // 2 + 1, dtype=torch.float64)[1:-1]
        rings = [_ring(n, math.sin(t), math.cos(t)) for t in lat]
        verts = torch.cat([*rings, torch.tensor([[0, 0, 1.0], [0, 0, -1.0]], dtype=torch.float64)])
        faces = _grid_faces(len(rings), n, wrap_cols=True).tolist()
        top, bottom = len(verts) - 2, len(verts) - 1
        faces += _fan(top, 0, n) + _fan(bottom, (len(rings) - 1) * n, n)
        return verts, torch.tensor(faces)
    if name == "cube":
        s = 1 / math.sqrt(3)
        verts = torch.tensor([[x, y, z] for x in (-s, s) for y in (-s, s) for z in (-s, s)], dtype=torch.float64)
        quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
        return verts, torch.tensor([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    if name in ("cylinder", "cone"):
        h, r = 0.6, 0.8
        top = _ring(n, r, h) if name == "cylinder" else torch.tensor([[0, 0, h]], dtype=torch.float64)
        verts = torch.cat([_ring(n, r, -h), top, torch.tensor([[0, 0, -h]], dtype=torch.float64)])
        centre = len(verts) - 1
        faces = _fan(centre, 0, n)
        if name == "cylinder":
            faces += _grid_faces(2, n, wrap_cols=True).tolist()
            verts = torch.cat([verts, torch.tensor([[0, 0, h]], dtype=torch.float64)])
            faces += _fan(len(verts) - 1, n, n)
        else:
            faces += [(n, j, (j + 1) % n) for j in range(n)]
        return verts, torch.tensor(faces)
    if name == "torus":
        u = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
        v = torch.arange(n // 2, dtype=torch.float64) * (2 * math.pi / (n // 2))
        uu, vv = torch.meshgrid(u, v, indexing="ij")
        rad = _TORUS_R + _TORUS_r * torch.cos(vv)
        verts = torch.stack([rad * torch.cos(uu), rad * torch.sin(uu), _TORUS_r * torch.sin(vv)], -1).reshape(-1, 3)
        faces = _grid_faces(n + 1, n // 2, wrap_cols=True)
        return verts, faces % len(verts)  # the extra row wraps the tube around the ring
    if name == "pyramid":
        s = 0.6
        verts = torch.tensor([[-s, -s, -0.5], [s, -s, -0.5], [s, s, -0.5], [-s, s, -0.5], [0, 0, 0.8]],
                             dtype=torch.float64)
        return verts, torch.tensor([(0, 2, 1), (0, 3, 2), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)])
    raise KeyError(f"unknown shape {name!r}; known: {', '.join(SHAPE_NAMES)}")


def _inside_reference(name: str, centroids: torch.Tensor) -> torch.Tensor:
    """A point inside the solid near each face, to orient face normals outwards."""
    if name != "torus":
        return torch.zeros_like(centroids)
    xy = centroids[:, :2]
    ring = _TORUS_R * xy / xy.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.cat([ring, torch.zeros_like(centroids[:, :1])], 1)


def sample_mesh(verts: torch.Tensor, faces: torch.Tensor, num_points: int, generator: torch.Generator | None = None,
                inside: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform surface samples of a triangle mesh: points ``[N, 3]`` and unit face normals ``[N, 3]``.

    ``inside`` (``[F, 3]``, optional) is a point inside the solid per face; normals are flipped to
    point away from it, so inconsistent winding in the file does not matter.
    """
    a, b, c = (verts[faces[:, i]] for i in range(3))
    cross = torch.linalg.cross(b - a, c - a)
    area = cross.norm(dim=1)
    keep = area > 0
    a, b, c, cross, area = a[keep], b[keep], c[keep], cross[keep], area[keep]
    normals = cross / area[:, None]
    if inside is not None:
        flip = ((a + b + c) / 3 - inside[keep]).mul(normals).sum(1) < 0
        normals = torch.where(flip[:, None], -normals, normals)
    tri = torch.multinomial(area, num_points, replacement=True, generator=generator)
    r1 = torch.rand(num_points, 1, generator=generator, dtype=verts.dtype).sqrt()
    r2 = torch.rand(num_points, 1, generator=generator, dtype=verts.dtype)
    points = (1 - r1) * a[tri] + r1 * (1 - r2) * b[tri] + r1 * r2 * c[tri]
    return points.float(), normals[tri].float()


def sample_shape(name: str, num_points: int, generator: torch.Generator | None = None,
                 rotate: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and normals on shape ``name``, optionally under a random rotation."""
    verts, faces = make_mesh(name)
    centroids = verts[faces].mean(1)
    points, normals = sample_mesh(verts, faces, num_points, generator, inside=_inside_reference(name, centroids))
    if rotate:
        q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator))
        rot = q * torch.sign(torch.diagonal(r))  # a uniformly random orthogonal matrix
        rot = rot * torch.sign(torch.det(rot))  # proper rotation, so normals stay outward
        points, normals = points @ rot.T, normals @ rot.T
    return points, normals


class ShapesDataset(torch.utils.data.Dataset):
    """A labelled, deterministic set of voxelised shapes: item ``i`` -> ``(coords, feats, label)``.

    ``samples_per_class`` randomly rotated samples of each of :data:`SHAPE_NAMES`, each normalised
    to the unit sphere and voxelised at ``grid_size`` like the ModelNet40 pipeline. ``split`` picks
    a disjoint random stream ("train" / "test"); nothing is downloaded or cached.
    """

    classes = SHAPE_NAMES

    def __init__(self, split: str = "train", num_points: int = 1024, samples_per_class: int = 8,
                 grid_size: float = 0.02, seed: int = 0):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.split, self.num_points, self.grid_size = split, num_points, grid_size
        self.samples_per_class = samples_per_class
        self.seed = seed * 2 + (split == "test")

    def __len__(self) -> int:
        return self.samples_per_class * len(SHAPE_NAMES)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        from zoo_spiking.data.voxel import normalize_coord, voxelize

        label = index % len(SHAPE_NAMES)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        points, normals = sample_shape(SHAPE_NAMES[label], self.num_points, generator=g)
        coords, feats = voxelize(normalize_coord(points), normals, grid_size=self.grid_size, generator=g)
        return coords, feats, label

    @property
    def num_classes(self) -> int:
        return len(SHAPE_NAMES)

    @staticmethod
    def collate(items):
        """Batches for ``DataLoader`` and ``zoo.train``: ``((coords, feats, batch), labels)``."""
        from zoo_spiking.data.voxel import collate_labelled

        return collate_labelled(items)
