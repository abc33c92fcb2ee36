"""TextGCN-style word–document graphs, and a reader for folders of labelled text files.

Yao, Mao, Luo, "Graph Convolutional Networks for Text Classification", AAAI 2019
(arXiv:1809.05679) define the heterogeneous graph MT-Text GCN (Marreddy et al., IJCNN 2022,
arXiv:2205.01204) is trained on: one node per word and per document;

- word–word edges weighted by positive PMI over sliding windows: PMI(i, j) =
  log(#W(i, j)·#W / (#W(i)·#W(j))), #W(·) counting the windows (``window`` tokens, a shorter
  document is one window) that contain the word(s); pairs with PMI ≤ 0 get no edge;
- word–document edges weighted by TF-IDF = count(word, doc) · log(D / df(word)) (no smoothing,
  no normalisation, as in TextGCN and in the MT-GCN authors' code; a word found in every
  document weighs 0 and gets no edge);
- self-loops of weight 1 are left to the GCN normalisation.

Tokenisation and counting are scikit-learn's (``CountVectorizer``; pass ``token_pattern`` or a
``tokenizer`` for other scripts — the MT-GCN authors transliterate Telugu to WX first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zoo import DatasetSpec, Paper
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError

TEXTGCN = Paper(title="Graph Convolutional Networks for Text Classification", arxiv="1809.05679",
                venue="AAAI 2019", code="https://github.com/yao8839836/text_gcn")
LAYOUT = ("root/<task>/<label>/<document>.txt: a folder per task, a sub-folder per class, one UTF-8 text file "
          "per document; the same file name under several tasks is one document with several labels")
HOMEPAGE = "https://github.com/scsmuhio/MTGCN (TEL-NLP) or any labelled text collection"


@dataclass(frozen=True)
class TextGraph:
    """A word–document graph: words are nodes 0..V-1, documents V..V+D-1.

    ``edge_index`` [2, E] lists every edge in both directions (no self-loops), ``edge_weight`` [E]
    its PMI or TF-IDF weight; ``vocabulary`` names the word nodes in order.
    """

    edge_index: object
    edge_weight: object
    vocabulary: tuple[str, ...]
    num_documents: int

    @property
    def num_words(self) -> int:
        return len(self.vocabulary)

    @property
    def num_nodes(self) -> int:
        return self.num_words + self.num_documents

    def document_nodes(self, documents=None):
        """Node ids [D] of the documents (or of the given document positions)."""
        import torch

        positions = torch.arange(self.num_documents) if documents is None else torch.as_tensor(documents)
        return positions + self.num_words


def _windows(tokens: list[str], window: int) -> list[list[str]]:
    if len(tokens) <= window:
        return [tokens]
    return [tokens[start:start + window] for start in range(len(tokens) - window + 1)]


def build_text_graph(documents: list[str], *, window: int = 20, min_df: int = 1, **vectorizer_options) -> TextGraph:
    """The TextGCN graph of ``documents`` (a list of strings); ``vectorizer_options`` go to CountVectorizer."""
    import numpy as np
    import scipy.sparse as sp
    import torch
    from sklearn.feature_extraction.text import CountVectorizer

    if window < 1:
        raise ConfigError(f"window must be a positive number of tokens, got {window}")
    vectorizer = CountVectorizer(min_df=min_df, **vectorizer_options)
    try:
        counts = vectorizer.fit_transform(documents).tocsr().astype(np.float64)  # [D, V]
    except ValueError as error:  # scikit-learn's "empty vocabulary"
        raise DatasetFormatError(f"no words found in {len(documents)} documents: {error}") from None
    vocabulary = tuple(vectorizer.get_feature_names_out())
    num_docs, num_words = counts.shape

    # TF-IDF word-document weights: raw count x log(D / df)
    df = np.bincount(counts.indices, minlength=num_words)
    tfidf = (counts @ sp.diags(np.log(num_docs / np.maximum(df, 1)))).tocoo()
    keep = tfidf.data > 0
    doc, word, tfidf_weight = tfidf.row[keep], tfidf.col[keep], tfidf.data[keep]

    # windowed PMI word-word weights from the binary window x word matrix M: MᵀM counts windows
    analyzer, index = vectorizer.build_analyzer(), vectorizer.vocabulary_
    windows = [[index[t] for t in w if t in index] for text in documents
               for w in _windows(analyzer(text), window)]
    rows = np.repeat(np.arange(len(windows)), [len(w) for w in windows])
    cols = np.fromiter((i for w in windows for i in w), dtype=np.int64, count=len(rows))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(windows), num_words))
    m.data[:] = 1.0  # a word repeated in a window counts once
    together = (m.T @ m).tocoo()
    single = together.diagonal()
    pair = together.row != together.col
    a, b, n_ab = together.row[pair], together.col[pair], together.data[pair]
    pmi = np.log(n_ab * len(windows) / (single[a] * single[b]))
    positive = pmi > 0

    doc_nodes = doc + num_words
    source = np.concatenate([a[positive], word, doc_nodes])
    target = np.concatenate([b[positive], doc_nodes, word])
    weight = np.concatenate([pmi[positive], tfidf_weight, tfidf_weight])
    return TextGraph(
        edge_index=torch.from_numpy(np.stack([source, target]).astype(np.int64)),
        edge_weight=torch.from_numpy(weight).float(),
        vocabulary=vocabulary,
        num_documents=num_docs,
    )


@dataclass(frozen=True)
class LabelledTexts:
    """Documents of a text folder, their graph, and per task the labelled documents.

    ``labels[task]`` = (document node ids [n_t], class ids [n_t]); ``classes[task]`` names the
    class ids in order; ``documents`` holds the file names (without ``.txt``) in node order.
    """

    graph: TextGraph
    documents: tuple[str, ...]
    labels: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)


def load_text_folder(root: str | Path, *, window: int = 20, min_df: int = 1, encoding: str = "utf-8",
                     **vectorizer_options) -> LabelledTexts:
    """Read ``root/<task>/<label>/<document>.txt`` and build the word–document graph of all documents."""
    import torch

    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError("text-folder", str(root), LAYOUT, HOMEPAGE)
    files: dict[str, Path] = {}
    tagged: dict[str, dict[str, str]] = {}
    for task_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for label_dir in sorted(p for p in task_dir.iterdir() if p.is_dir()):
            for path in sorted(label_dir.glob("*.txt")):
                files.setdefault(path.stem, path)
                tagged.setdefault(task_dir.name, {})[path.stem] = label_dir.name
    if not files:
        raise DatasetFormatError(f"{root}: no labelled text files; expected {LAYOUT}")
    names = tuple(sorted(files))
    texts = []
    for name in names:
        try:
            texts.append(files[name].read_text(encoding=encoding))
        except UnicodeDecodeError as error:
            raise DatasetFormatError(f"{files[name]}: not {encoding} text ({error.reason})") from None
    graph = build_text_graph(texts, window=window, min_df=min_df, **vectorizer_options)
    position = {name: i for i, name in enumerate(names)}
    labels, classes = {}, {}
    for task, tags in tagged.items():
        classes[task] = tuple(sorted(set(tags.values())))
        class_id = {c: i for i, c in enumerate(classes[task])}
        docs = sorted(tags)
        labels[task] = (graph.document_nodes([position[d] for d in docs]),
                        torch.tensor([class_id[tags[d]] for d in docs]))
    return LabelledTexts(graph=graph, documents=names, labels=labels, classes=classes)


def text_folder(root: str | Path, split: str = "all", **options) -> LabelledTexts:
    """DatasetSpec builder: any folder of labelled text files (one split; cross-validate over it)."""
    if split != "all":
        raise ConfigError(f"text-folder has one split, 'all' (split it with folds), got {split!r}")
    return load_text_folder(root, **options)


DATASETS = (
    DatasetSpec(
        name="text-folder", domain="graph", task="text-classification",
        builder="zoo_graph.data.textgraph:text_folder", layout=LAYOUT, homepage=HOMEPAGE, splits=("all",),
        paper=TEXTGCN,
        description="Labelled text files (one folder per task and class) as a TextGCN word-document graph: "
                    "windowed-PMI word-word and TF-IDF word-document edges, for MT-Text GCN.",
    ),
)
