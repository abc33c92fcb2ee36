"""UltraGCN's loss terms, item-item graph and negative sampling; top-K metrics; LightGCN training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from zoo_graph.models.lightgcn import bipartite_edge_index, build_lightgcn
from zoo_graph.models.ultragcn import PAPER_CONFIGS, build_ultragcn
from zoo_graph.recsys import lightgcn as lightgcn_training
from zoo_graph.recsys.metrics import evaluate_topk
from zoo_graph.recsys.ultragcn import UltraGCNGraph, train_epoch, ultragcn_loss


def random_interactions(users=30, items=25, per_user=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    pairs = {(u, int(i)) for u in range(users) for i in torch.randperm(items, generator=generator)[:per_user]}
    pairs = sorted(pairs)
    return torch.tensor(pairs).t().contiguous()


def test_beta_weights_and_item_item_graph_match_dense_definition():
    train = random_interactions()
    users, items, k = 30, 25, 5
    graph = UltraGCNGraph.from_interactions(train, users, items, ii_neighbor_num=k)
    a = torch.zeros(users, items, dtype=torch.float64)
    a[train[0], train[1]] = 1
    du, di = a.sum(1), a.sum(0)
    assert torch.allclose(graph.beta_user.double(), torch.sqrt(du + 1) / du, atol=1e-6)
    assert torch.allclose(graph.beta_item.double(), 1 / torch.sqrt(di + 1), atol=1e-6)
    g = a.t() @ a
    rows = g.sum(1)
    scale = torch.where(rows > 0, torch.sqrt(rows + 1) / rows.clamp_min(1), torch.zeros_like(rows))
    omega = g * scale.unsqueeze(1) / torch.sqrt(rows + 1).unsqueeze(0)
    expected = torch.topk(omega, k, dim=1)
    assert torch.allclose(graph.ii_weights.double(), expected.values, atol=1e-6)
    # ties may be ordered differently; the weights of the chosen neighbours must be the top-K weights
    chosen = omega.gather(1, graph.ii_neighbors)
    assert torch.allclose(chosen, expected.values, atol=1e-6)


def reference_loss(model, graph, users, pos, neg, cfg):
    """The UltraGCN loss written out per example, as the paper/authors define it."""
    total = torch.zeros((), dtype=torch.float64)
    u_emb, i_emb = model.user_embedding.weight.double(), model.item_embedding.weight.double()
    for b in range(len(users)):
        u, i = users[b], pos[b]
        beta = lambda j, u=u: (graph.beta_user[u] * graph.beta_item[j]).double()  # noqa: E731
        s = u_emb[u] @ i_emb[i]
        total = total + (cfg["w1"] + cfg["w2"] * beta(i)) * -F.logsigmoid(s)
        negs = [(cfg["w3"] + cfg["w4"] * beta(j)) * -F.logsigmoid(-(u_emb[u] @ i_emb[j])) for j in neg[b]]
        total = total + cfg["negative_weight"] * torch.stack(negs).mean()
        for j, w in zip(graph.ii_neighbors[i], graph.ii_weights[i]):
            total = total - cfg["lambda_"] * w.double() * F.logsigmoid(u_emb[u] @ i_emb[j])
    norm = (u_emb.pow(2).sum() + i_emb.pow(2).sum()) / 2
    return total + cfg["gamma"] * norm


@pytest.mark.parametrize("negatives", [3, 40], ids=["gather-path", "matmul-path"])
def test_ultragcn_loss_matches_reference(negatives):
    torch.manual_seed(0)
    train = random_interactions()
    graph = UltraGCNGraph.from_interactions(train, 30, 25, ii_neighbor_num=4)
    model = build_ultragcn(num_users=30, num_items=25, embedding_dim=8, init_std=0.3)
    cfg = dict(PAPER_CONFIGS["amazon-cds"], w1=0.2, w3=0.3, lambda_=0.7, gamma=0.05, negative_weight=5.0)
    users, pos = train[0, :6], train[1, :6]
    neg = graph.sample_negatives(users, negatives, sift_pos=False)
    loss = ultragcn_loss(model, graph, users, pos, neg, **cfg)
    assert torch.allclose(loss.double(), reference_loss(model, graph, users, pos, neg, cfg), rtol=1e-4)


def test_sift_pos_negatives_avoid_training_items():
    train = random_interactions(users=10, items=8, per_user=6)
    graph = UltraGCNGraph.from_interactions(train, 10, 8)
    users = torch.arange(10).repeat_interleave(5)
    negatives = graph.sample_negatives(users, 50, sift_pos=True, generator=torch.Generator().manual_seed(0))
    positives = {(int(u), int(i)) for u, i in train.t()}
    assert not any((int(u), int(j)) in positives for u, row in zip(users, negatives) for j in row)
    unsifted = graph.sample_negatives(users, 50, sift_pos=False, generator=torch.Generator().manual_seed(0))
    assert any((int(u), int(j)) in positives for u, row in zip(users, unsifted) for j in row)


def dense_reference_metrics(user_emb, item_emb, train, test, k):
    scores = user_emb @ item_emb.t()
    scores[train[0], train[1]] = -math.inf  # the dense users x items mask the authors build
    top = scores.topk(k, dim=1).indices
    recalls, ndcgs = [], []
    for u in range(user_emb.shape[0]):
        truth = set(test[1, test[0] == u].tolist())
        if not truth:
            continue
        hits = [int(i) in truth for i in top[u]]
        recalls.append(sum(hits) / len(truth))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(truth), k)))
        ndcgs.append(dcg / idcg)
    return sum(recalls) / len(recalls), sum(ndcgs) / len(ndcgs)


def test_batched_topk_matches_dense_masked_reference():
    torch.manual_seed(0)
    train, test = random_interactions(40, 60, 6, seed=1), random_interactions(40, 60, 3, seed=2)
    keep = torch.tensor([(u, i) not in set(map(tuple, train.t().tolist())) for u, i in test.t().tolist()])
    test = test[:, keep]
    user_emb, item_emb = torch.randn(40, 8), torch.randn(60, 8)
    ours = evaluate_topk(user_emb, item_emb, train, test, k=10, batch_size=7)
    recall, ndcg = dense_reference_metrics(user_emb, item_emb, train, test, 10)
    assert ours["recall@10"] == pytest.approx(recall) and ours["ndcg@10"] == pytest.approx(ndcg)


def test_perfect_scores_give_recall_one():
    train, test = torch.tensor([[0, 1], [0, 1]]), torch.tensor([[0, 1], [2, 3]])
    item_emb = torch.eye(4)
    user_emb = torch.tensor([[5.0, 0, 1, 0], [0, 5.0, 0, 1]])  # training item scored highest, but masked
    metrics = evaluate_topk(user_emb, item_emb, train, test, k=1)
    assert metrics["recall@1"] == 1.0 and metrics["ndcg@1"] == 1.0


def block_interactions(users=60, items=40, groups=4, seed=0):
    """Users in group g interact only with items of group g: a pattern a recommender must learn."""
    generator = torch.Generator().manual_seed(seed)
    user_group = torch.arange(users) % groups
    train, test = [], []
    for u in range(users):
        pool = torch.nonzero(torch.arange(items) % groups == user_group[u]).flatten()
        picked = pool[torch.randperm(len(pool), generator=generator)[:6]]
        train += [(u, int(i)) for i in picked[:4]]
        test += [(u, int(i)) for i in picked[4:]]
    return torch.tensor(train).t().contiguous(), torch.tensor(test).t().contiguous()


def test_ultragcn_training_learns_block_structure():
    torch.manual_seed(0)
    train, test = block_interactions()
    graph = UltraGCNGraph.from_interactions(train, 60, 40, ii_neighbor_num=5)
    model = build_ultragcn(num_users=60, num_items=40, embedding_dim=16, init_std=1e-2)
    cfg = dict(PAPER_CONFIGS["amazon-electronics"], batch_size=64, negative_num=10, negative_weight=10.0)
    before = evaluate_topk(*model.embeddings(), train, test, k=5)["recall@5"]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        train_epoch(model, graph, train, optimizer, cfg)
    after = evaluate_topk(*(e.detach() for e in model.embeddings()), train, test, k=5)["recall@5"]
    # 36 items are unseen per user, 2 of them test items: a random top-5 recalls 5/36 ≈ 0.14 of them
    assert after > 0.5 > before


def test_lightgcn_bpr_training_learns_block_structure():
    torch.manual_seed(0)
    train, test = block_interactions()
    model = build_lightgcn(num_users=60, num_items=40, embedding_dim=16, num_layers=2)
    adjacency = model.normalized_adjacency(bipartite_edge_index(train, 60))
    keys = torch.sort(train[0] * 40 + train[1]).values
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(40):
        lightgcn_training.train_epoch(model, adjacency, train, keys, optimizer, batch_size=64)
    with torch.no_grad():
        metrics = evaluate_topk(*model.embeddings(adjacency), train, test, k=5)
    assert metrics["recall@5"] > 0.5
    # the module's forward scores pairs with the same propagated embeddings
    with torch.no_grad():
        users, items = model.embeddings(adjacency)
        pair = model(bipartite_edge_index(train, 60), torch.tensor([3]), torch.tensor([7]))
    assert torch.allclose(pair, (users[3] * items[7]).sum().reshape(1), atol=1e-5)


@pytest.mark.parametrize("name", ["ultragcn", "lightgcn"])
def test_zoo_train_runs_the_recommenders_recipes(name, tmp_path):
    from torch_geometric.data import Data

    import zoo
    from zoo.registry import get_registry

    torch.manual_seed(0)
    train, test = block_interactions()
    splits = tuple(Data(edge_index=e, num_users=60, num_items=40) for e in (train, test))
    recipe = get_registry().model(name).get_recipe("amazon-electronics" if name == "ultragcn" else None)
    options = {**recipe.options, "embedding_dim": 16, "init_std": 1e-2, "negative_num": 10, "negative_weight": 10.0}
    recipe = recipe.replace(lr=0.05, batch_size=64, epochs=25, options=options if name == "ultragcn" else
                            recipe.options)
    config = {} if name == "ultragcn" else {"embedding_dim": 16, "num_layers": 2}
    result = zoo.train(name, splits, out=tmp_path / name, recipe=recipe, config=config, progress=False)
    # the data gave the model its sizes; Recall@20 of the block structure (a random ranking recalls 20/36)
    assert zoo.load(tmp_path / name / "best").num_users == 60
    assert result["metrics"]["recall@20"] > 0.9 and "ndcg@20" in result["metrics"]
