"""MT-Text GCN: a GCN auto-encoder of a word–sentence graph with one classification head per task.

Marreddy, Oota, Vakada, Chinni, Mamidi, "Multi-Task Text Classification using Graph
Convolutional Networks for Large-Scale Low Resource Language", IJCNN 2022 (arXiv:2205.01204);
authors' code: github.com/scsmuhio/MTGCN.

The graph is TextGCN's (:mod:`zoo_graph.data.textgraph`), normalised Â = D^-1/2 (A + I) D^-1/2.
As in the authors' code, the node input is one-hot (X = I), so the first GCN layer's weight is a
node table W1 [N, H]: z = dropout(ReLU(Â W1 + b1)) are the latent node embeddings. The second
layer decodes them to adjacency rows, Â z W2 + b2 [N, N], trained to reconstruct A + I with MSE.
Each task t classifies the latent embedding of a sentence node with a linear head H → C_t.

The authors' code scores the latents with a scikit-learn logistic regression and adds
"BCE(labels, predictions)" to the loss, which carries no gradient to the GCN. Here the heads are
linear layers trained jointly: reconstruction MSE + Σ_t cross entropy (see
:mod:`zoo_graph.train.mt_text_gcn`), which is what the paper describes. Reconstruction is
computed for a batch of rows at a time, so the N x N matrix never exists (5 GB at N = 36k).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from zoo.errors import ConfigError
from zoo.shapes import expect_shape
from zoo_graph.models.mt_text_gcn_specs import DEFAULT, VARIANTS


class MTTextGCN(nn.Module):
    """``forward(edge_index [2, E], edge_weight [E], nodes [B])`` → ``{task: logits [B, C_t]}``.

    ``edge_index`` / ``edge_weight``: the word–sentence graph over ``num_nodes`` nodes (both
    directions, no self-loops); ``nodes``: the sentence nodes to classify.
    """

    def __init__(self, num_nodes: int, hidden_channels: int, tasks: dict[str, int], dropout: float):
        super().__init__()
        if not tasks:
            raise ConfigError("MT-Text GCN needs at least one task: tasks={'name': num_classes, ...}")
        self.num_nodes, self.dropout = num_nodes, dropout
        self.encoder_weight = nn.Parameter(torch.empty(num_nodes, hidden_channels))
        self.encoder_bias = nn.Parameter(torch.empty(hidden_channels))
        self.decoder_weight = nn.Parameter(torch.empty(hidden_channels, num_nodes))
        self.decoder_bias = nn.Parameter(torch.empty(num_nodes))
        # pygcn's GraphConvolution init, which the authors' layers.py follows: U(±1/√out)
        for weight, bias in ((self.encoder_weight, self.encoder_bias), (self.decoder_weight, self.decoder_bias)):
            bound = 1.0 / math.sqrt(weight.shape[1])
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)
        self.heads = nn.ModuleDict({task: nn.Linear(hidden_channels, classes) for task, classes in tasks.items()})

    def _propagate(self, h: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor) -> torch.Tensor:
        index, weight = gcn_norm(edge_index, edge_weight, self.num_nodes, add_self_loops=True, dtype=h.dtype)
        return torch.zeros_like(h).index_add_(0, index[1], h[index[0]] * weight.unsqueeze(1))

    def encode(self, edge_index: torch.Tensor, edge_weight: torch.Tensor) -> torch.Tensor:
        """Latent node embeddings z [N, H]."""
        n = self.num_nodes
        num_edges = expect_shape(edge_index, "2 E", name="edge_index", model="MT-Text GCN", dtype=("int64", "int32"),
                                 min_value=0, max_value=n - 1)["E"]
        expect_shape(edge_weight, "E", name="edge_weight", model="MT-Text GCN", E=num_edges, dtype="float")
        h = self._propagate(self.encoder_weight, edge_index, edge_weight) + self.encoder_bias
        return F.dropout(F.relu(h), self.dropout, self.training)

    def reconstruct(self, z: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor,
                    rows: torch.Tensor) -> torch.Tensor:
        """Decoded adjacency rows [B, N] for the nodes ``rows`` [B]."""
        return self._propagate(z, edge_index, edge_weight)[rows] @ self.decoder_weight + self.decoder_bias

    def classify(self, z: torch.Tensor, nodes: torch.Tensor) -> dict[str, torch.Tensor]:
        return {task: head(z[nodes]) for task, head in self.heads.items()}

    def forward(self, edge_index: torch.Tensor, edge_weight: torch.Tensor, nodes: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        z = self.encode(edge_index, edge_weight)
        expect_shape(nodes, "B", name="nodes", model="MT-Text GCN", dtype=("int64", "int32"), min_value=0,
                     max_value=self.num_nodes - 1)
        return self.classify(z, nodes)


def build_mt_text_gcn(**config) -> MTTextGCN:
    """Builder; the defaults are the authors' TEL-NLP sizes (36,234 nodes, hidden 200, four tasks)."""
    settings = {**VARIANTS[DEFAULT], **config}
    settings["tasks"] = dict(settings["tasks"])
    return MTTextGCN(**settings)


def example_input(config: dict):
    """Twelve edges among the last ten nodes, two of them sentences: ``(edge_index, edge_weight, nodes)``."""
    generator = torch.Generator().manual_seed(0)
    n = config["num_nodes"]
    source = torch.randint(n - 10, n, (6,), generator=generator)
    target = torch.randint(n - 10, n, (6,), generator=generator)
    edge_index = torch.stack([torch.cat([source, target]), torch.cat([target, source])])
    return edge_index, torch.rand(6, generator=generator).repeat(2), torch.tensor([n - 2, n - 1])


def bad_input(config: dict):
    """Edge weights that do not match the edges."""
    edge_index, edge_weight, nodes = example_input(config)
    return edge_index, edge_weight[:-1], nodes
