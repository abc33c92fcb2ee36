"""LA-GNN's recipe: pre-train the CVAE generator, generate features, train LA-GCN / LA-GAT.

Liu et al., "Local Augmentation for Graph Neural Networks", ICML 2022 (arXiv:2109.03856).

1. :func:`pretrain_cvae` — the CVAE learns p(x_j | x_i) over every edge (i, j) of the raw graph
   (raw, un-normalised features; no self pairs), batch 64, Adam lr 0.01. Generator selection as
   in the authors' code: a GCN (hidden 32, dropout 0.5, lr 0.01, wd 5e-4) is first trained for
   100 epochs on the original features; after CVAE steps, features are generated for all nodes
   and scored by U = NLL(mean of ``num_models`` dropout passes) − mean NLL of the passes on the
   training nodes; after ``warmup`` steps the CVAE with the highest U is kept, and the GCN is
   fine-tuned for ``update_epochs`` on its features each time a new best is found.
2. :func:`augmented_features` — z ~ N(0, I), decode conditioned on each node's own raw features,
   row-normalise → ``[concat, N, F]``.
3. :func:`train_la` — every epoch, ``samples`` forward passes with freshly generated features;
   loss = mean training NLL + λ·consistency (sharpened average prediction, temperature 0.5);
   model selection on validation loss.

Initialisation: the authors' GraphConvolution layers call ``normal_(-stdv, stdv)`` with
stdv = 1/√out on weight and bias — a normal with *mean* −1/√out and std 1/√out (most likely
meant as ``uniform_``), and the paper's Cora numbers were obtained with it. :func:`train_la`
applies it to every GCNConv by default (``init="shifted-normal"``); ``init="glorot"`` keeps
torch_geometric's glorot weights and zero bias. LA-GAT's GATConv layers are torch_geometric's
in the authors' code too, so the init leaves them alone.

Two deliberate departures, both in the service of running on a CPU and both options:
``select_every`` scores U every n-th CVAE step instead of every step, and ``pool`` draws the
generated matrices from a pre-generated pool instead of decoding new ones for every pass. With
``select_every=1`` and ``pool=None`` the recipe is the authors'. (Their pre-training GCN loop
also calls the GCN without its adjacency, and their script ends with ``torch.save(path)``;
neither bug is reproduced.)
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv

from zoo.errors import ConfigError
from zoo_graph.models.gcn import GCN
from zoo_graph.models.lagnn import CVAE


def row_normalize(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to sum 1 (all-zero rows stay zero)."""
    total = x.sum(dim=1, keepdim=True)
    return torch.where(total > 0, x / total.clamp_min(1e-12), torch.zeros_like(x))


INITS = ("shifted-normal", "glorot")


@torch.no_grad()
def shifted_normal_(model: torch.nn.Module, generator: torch.Generator | None = None) -> torch.nn.Module:
    """Re-initialise every GCNConv of ``model`` as the authors' code does: N(−1/√out, (1/√out)²).

    Weight and bias alike (their ``reset_parameters`` calls ``normal_(-stdv, stdv)``, whose
    arguments are mean and std). Returns ``model``.
    """
    for module in model.modules():
        if isinstance(module, GCNConv):
            stdv = 1.0 / math.sqrt(module.out_channels)
            module.lin.weight.normal_(-stdv, stdv, generator=generator)
            if module.bias is not None:
                module.bias.normal_(-stdv, stdv, generator=generator)
    return model


def cvae_loss(recon: torch.Tensor, x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """(summed BCE + KL) / batch, as in the authors' code."""
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (bce + kl) / x.shape[0]


@torch.no_grad()
def augmented_features(cvae: CVAE, x_raw: torch.Tensor, concat: int, generator: torch.Generator | None = None):
    """``concat`` generated, row-normalised feature matrices [concat, N, F]."""
    cvae.eval()
    return torch.stack([row_normalize(cvae.generate(x_raw, generator)) for _ in range(concat)])


def _uncertainty_score(gcn: GCN, features: torch.Tensor, edge_index, y, train_mask, num_models: int) -> float:
    gcn.train()  # dropout on: num_models stochastic passes
    with torch.no_grad():
        probs, nll = 0.0, 0.0
        for _ in range(num_models):
            logits = gcn(features, edge_index)
            probs = probs + F.softmax(logits, dim=1)
            nll = nll + F.cross_entropy(logits[train_mask], y[train_mask])
        mean_nll = F.nll_loss(torch.log(probs / num_models)[train_mask], y[train_mask])
    return (mean_nll - nll / num_models).item()


def _fit(gcn: GCN, optimizer, features, edge_index, y, train_mask, epochs: int) -> None:
    for _ in range(epochs):
        gcn.train()
        optimizer.zero_grad()
        F.cross_entropy(gcn(features, edge_index)[train_mask], y[train_mask]).backward()
        optimizer.step()


def pretrain_cvae(x_raw: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, train_mask: torch.Tensor, *,
                  epochs: int = 10, batch_size: int = 64, lr: float = 0.01, latent_dim: int = 10,
                  warmup: int = 200, num_models: int = 100, update_epochs: int = 20, select_every: int = 1,
                  generator: torch.Generator | None = None) -> CVAE:
    """Train and select an LA-GNN generator on one graph; returns the selected CVAE (eval mode)."""
    features = row_normalize(x_raw)
    gcn = GCN(x_raw.shape[1], 32, int(y.max()) + 1, dropout=0.5)
    gcn_optimizer = torch.optim.Adam(gcn.parameters(), lr=0.01, weight_decay=5e-4)
    _fit(gcn, gcn_optimizer, features, edge_index, y, train_mask, 100)

    centre, neighbour = edge_index[1], edge_index[0]
    keep = centre != neighbour
    centre, neighbour = centre[keep], neighbour[keep]
    cvae = CVAE(x_raw.shape[1], 256, latent_dim)
    optimizer = torch.optim.Adam(cvae.parameters(), lr=lr)
    best_score, best_state, step = -float("inf"), None, 0
    for _ in range(epochs):
        order = torch.randperm(len(centre), generator=generator)
        for start in range(0, len(order), batch_size):
            pairs = order[start:start + batch_size]
            cvae.train()
            recon, mean, log_var = cvae(x_raw[neighbour[pairs]], x_raw[centre[pairs]])
            loss = cvae_loss(recon, x_raw[neighbour[pairs]], mean, log_var)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step % select_every:
                continue
            generated = augmented_features(cvae, x_raw, 1, generator)[0]
            score = _uncertainty_score(gcn, generated, edge_index, y, train_mask, num_models)
            if score > best_score:
                best_score = score
                if step > warmup:
                    best_state = copy.deepcopy(cvae.state_dict())
                    _fit(gcn, gcn_optimizer, generated, edge_index, y, train_mask, update_epochs)
    if best_state is not None:
        cvae.load_state_dict(best_state)
    return cvae.eval()


def consistency_loss(log_probs: list[torch.Tensor], temperature: float = 0.5) -> torch.Tensor:
    """GRAND-style consistency: mean squared distance of each prediction to the sharpened average."""
    probs = [lp.exp() for lp in log_probs]
    average = torch.stack(probs).mean(0)
    sharpened = average.pow(1.0 / temperature)
    sharpened = (sharpened / sharpened.sum(dim=1, keepdim=True)).detach()
    return torch.stack([(p - sharpened).pow(2).sum(1).mean() for p in probs]).mean()


def train_la(model: torch.nn.Module, data, cvae: CVAE, x_raw: torch.Tensor, *, epochs: int = 2000, lr: float = 0.01,
             weight_decay: float = 5e-4, samples: int = 4, lam: float = 1.0, temperature: float = 0.5,
             pool: int | None = None, init: str = "shifted-normal",
             generator: torch.Generator | None = None) -> dict[str, float]:
    """Train an LA-GCN / LA-GAT on ``data`` (row-normalised ``x``, masks, ``y``); returns accuracies.

    ``pool``: draw generated matrices from this many pre-generated ones (None: decode afresh every time).
    ``init``: ``"shifted-normal"`` (the authors', see :func:`shifted_normal_`) re-initialises the
    GCN layers first; ``"glorot"`` trains the model as it was built.
    """
    if init not in INITS:
        raise ConfigError(f"init must be one of {INITS}, got {init!r}")
    if init == "shifted-normal":
        shifted_normal_(model, generator)
    concat = model.concat
    bank = augmented_features(cvae, x_raw, pool, generator) if pool else None

    def draw() -> torch.Tensor:
        if bank is None:
            return augmented_features(cvae, x_raw, concat, generator)
        return bank[torch.randint(0, len(bank), (concat,), generator=generator)]

    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    train, val, test = data.train_mask, data.val_mask, data.test_mask
    best_loss, best_state, best_aug = float("inf"), None, None
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        outputs = [F.log_softmax(model(data.x, data.edge_index, draw()), dim=-1) for _ in range(samples)]
        loss = torch.stack([F.nll_loss(o[train], data.y[train]) for o in outputs]).mean()
        loss = loss + lam * consistency_loss(outputs, temperature)
        loss.backward()
        optimizer.step()
        model.eval()
        aug = draw()
        with torch.no_grad():
            val_loss = F.cross_entropy(model(data.x, data.edge_index, aug)[val], data.y[val]).item()
        if val_loss < best_loss:
            best_loss, best_state, best_aug = val_loss, copy.deepcopy(model.state_dict()), aug
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        logits = model(data.x, data.edge_index, best_aug)
    return {"val_acc": (logits[val].argmax(-1) == data.y[val]).float().mean().item(),
            "test_acc": (logits[test].argmax(-1) == data.y[test]).float().mean().item()}
