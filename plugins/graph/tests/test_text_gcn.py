"""MT-Text GCN: the TextGCN graph by hand, the labelled-folder reader on real text, the model and recipe.

The real text is the dataset descriptions scikit-learn ships (sklearn/datasets/descr/*.rst): one
sentence per document, labelled by the dataset it describes (and, as a second task, by length).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import sklearn
import torch

import zoo
from zoo.errors import DatasetFormatError, DatasetNotFoundError, InputShapeError
from zoo_graph.data.textgraph import build_text_graph, load_text_folder
from zoo_graph.models.mt_text_gcn import build_mt_text_gcn
from zoo_graph.train.mt_text_gcn import evaluate, kfold, macro_f1, train_mt_text_gcn

DESCRIPTIONS = Path(sklearn.__file__).parent / "datasets" / "descr"
TOPICS = ("twenty_newsgroups", "lfw", "rcv1", "breast_cancer")  # the four richest descriptions


def edge_weights(graph) -> dict[tuple[str, str], float]:
    names = list(graph.vocabulary) + [f"doc{i}" for i in range(graph.num_documents)]
    return {(names[a], names[b]): w for (a, b), w in zip(graph.edge_index.t().tolist(), graph.edge_weight.tolist())}


def test_text_graph_is_textgcn_by_hand():
    graph = build_text_graph(["the cat sat on the mat", "the dog sat", "a cat and a dog"], window=3)
    weights = edge_weights(graph)
    # windows: [the cat sat] [cat sat on] [sat on the] [on the mat] | [the dog sat] | [cat and dog] -> #W = 6
    # #W(the) = 4, #W(sat) = 4, #W(the, sat) = 3: PMI = log(3·6 / (4·4))
    assert weights[("the", "sat")] == pytest.approx(math.log(18 / 16), rel=1e-6)
    # #W(cat) = 3, #W(cat, the) = 1: PMI = log(6 / 12) < 0, so no edge; 'and' and 'the' never meet
    assert ("cat", "the") not in weights and ("and", "the") not in weights
    # TF-IDF = count · log(D / df): 'the' twice in doc 0 and in 2 of 3 documents
    assert weights[("the", "doc0")] == pytest.approx(2 * math.log(3 / 2), rel=1e-6)
    assert weights[("doc0", "the")] == weights[("the", "doc0")]
    assert weights[("dog", "doc2")] == pytest.approx(math.log(3 / 2), rel=1e-6)
    assert all(weights[(b, a)] == w for (a, b), w in weights.items())  # undirected
    assert graph.num_nodes == len(graph.vocabulary) + 3 and "a" not in graph.vocabulary  # sklearn's tokens


def sentences(topic: str, limit: int = 25) -> list[str]:
    text = re.sub(r"[:*`|=_\-\[\]]+", " ", (DESCRIPTIONS / f"{topic}.rst").read_text(encoding="utf-8"))
    parts = [" ".join(p.split()) for p in re.split(r"\.\s|\n\n", text)]
    return [p for p in parts if len(re.findall(r"[A-Za-z]{3,}", p)) >= 5][:limit]


@pytest.fixture(scope="module")
def text_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("texts")
    for topic in TOPICS:
        for i, sentence in enumerate(sentences(topic)):
            name = f"{topic}-{i:02d}.txt"
            for task, label in (("dataset", topic), ("length", "long" if len(sentence.split()) > 15 else "short")):
                folder = root / task / label
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(sentence, encoding="utf-8")
    return root


def test_text_folder_reads_tasks_labels_and_one_graph(text_root):
    texts = zoo.dataset("text-folder", root=text_root)
    count = sum(len(sentences(t)) for t in TOPICS)
    assert len(texts.documents) == texts.graph.num_documents == count  # each file is one document
    assert texts.classes["dataset"] == tuple(sorted(TOPICS)) and texts.classes["length"] == ("long", "short")
    nodes, y = texts.labels["dataset"]
    assert len(nodes) == count and int(nodes.min()) == texts.graph.num_words
    first = texts.documents.index("breast_cancer-00")  # sorted names: its node is num_words + position
    position = (nodes == texts.graph.num_words + first).nonzero().item()
    assert texts.classes["dataset"][y[position]] == "breast_cancer"
    assert torch.equal(texts.labels["length"][0], nodes)  # both tasks label the same document nodes


def test_text_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="root/<task>/<label>/<document>.txt"):
        load_text_folder(tmp_path / "missing")
    with pytest.raises(DatasetFormatError, match="no labelled text files"):
        load_text_folder(tmp_path)
    (tmp_path / "sentiment" / "positive").mkdir(parents=True)
    (tmp_path / "sentiment" / "positive" / "bad.txt").write_bytes(b"\xff\xfe\xfa broken")
    with pytest.raises(DatasetFormatError, match="not utf-8 text"):
        load_text_folder(tmp_path)


def test_reconstruction_is_the_second_gcn_layer_by_hand():
    torch.manual_seed(0)
    model = build_mt_text_gcn(num_nodes=5, hidden_channels=3, tasks={"a": 2}, dropout=0.0).eval()
    edge_index = torch.tensor([[0, 1, 1, 3], [1, 0, 3, 1]])
    edge_weight = torch.tensor([0.5, 0.5, 2.0, 2.0])
    a = torch.eye(5)
    a[edge_index[0], edge_index[1]] = edge_weight
    d = a.sum(1).rsqrt()
    a_hat = d[:, None] * a * d[None, :]
    with torch.no_grad():
        z = torch.relu(a_hat @ model.encoder_weight + model.encoder_bias)  # one-hot input: Â·I·W1
        assert torch.allclose(model.encode(edge_index, edge_weight), z, atol=1e-6)
        rows = torch.tensor([3, 0])
        expected = (a_hat @ z @ model.decoder_weight + model.decoder_bias)[rows]
        assert torch.allclose(model.reconstruct(z, edge_index, edge_weight, rows), expected, atol=1e-6)
    with pytest.raises(InputShapeError, match="edge_weight"):
        model(edge_index, edge_weight[:3], torch.tensor([4]))


def test_mt_text_gcn_learns_both_tasks_on_real_text(text_root):
    texts = load_text_folder(text_root)
    graph = texts.graph
    train, test = kfold(texts.labels, k=5, fold=0)
    train, val = kfold(train, k=4, fold=0, seed=1)
    torch.manual_seed(0)
    model = build_mt_text_gcn(num_nodes=graph.num_nodes, hidden_channels=32,
                              tasks={t: len(c) for t, c in texts.classes.items()})
    # the classification loss reaches the GCN encoder (the authors' scikit-learn term does not)
    logits = model(graph.edge_index, graph.edge_weight, test["dataset"][0])
    torch.nn.functional.cross_entropy(logits["dataset"], test["dataset"][1]).backward()
    assert model.encoder_weight.grad.abs().sum() > 0
    model.zero_grad()
    result = train_mt_text_gcn(model, graph.edge_index, graph.edge_weight, train, val, epochs=150, lr=0.01,
                               patience=150, generator=torch.Generator().manual_seed(0))
    scores = evaluate(model, graph.edge_index, graph.edge_weight, test)
    # four balanced topics: chance is 1/4; the words of a dataset's description give it away
    assert scores["dataset"]["accuracy"] > 0.6, (result, scores)
    assert set(scores["length"]) == {"accuracy", "macro_f1"}


def test_macro_f1_by_hand():
    predicted, y = torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 1])
    # class 0: tp 1 fp 1 -> 2/3; class 1: tp 1 fn 2 -> 2/4; class 2: fp 1 -> 0
    assert macro_f1(predicted, y, 3) == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
