"""MT-Text GCN, torch-free: the paper, the TEL-NLP setting and the registered model."""

from __future__ import annotations

from zoo import ModelSpec, Paper

PAPER = Paper(title="Multi-Task Text Classification using Graph Convolutional Networks for Large-Scale Low "
                    "Resource Language", arxiv="2205.01204", venue="IJCNN 2022", code="https://github.com/scsmuhio/MTGCN")

# The authors' TEL-NLP slice: 20,000 words + 16,234 sentences; hidden 200; the paper's four tasks
# (sentiment, emotion, hate speech, sarcasm) with their class counts.
VARIANTS: dict[str, dict] = {
    "tel-nlp": {"num_nodes": 36234, "hidden_channels": 200,
                "tasks": {"sentiment": 2, "emotion": 4, "hate_speech": 2, "sarcasm": 2}, "dropout": 0.5},
}
DEFAULT = "tel-nlp"


def num_params(config: dict) -> int:
    """Encoder N x H + H, decoder H x N + N, one linear head per task."""
    n, h = config["num_nodes"], config["hidden_channels"]
    return 2 * n * h + h + n + sum(h * c + c for c in config["tasks"].values())


MODELS = (
    ModelSpec(
        name="mt-text-gcn", domain="graph", task="text-classification", paper=PAPER,
        builder="zoo_graph.models.mt_text_gcn:build_mt_text_gcn",
        example_input="zoo_graph.models.mt_text_gcn:example_input",
        bad_input="zoo_graph.models.mt_text_gcn:bad_input", num_params=num_params(VARIANTS[DEFAULT]),
        default_config=VARIANTS[DEFAULT], tags=("text-gcn", "multi-task", "graph-autoencoder", "low-resource"),
        license="Apache-2.0",
        no_recipe="a graph auto-encoder trained on the reconstruction of the PMI / TF-IDF matrix plus one loss per "
                  "task, scored by macro F1 per task over k folds: zoo_graph.train.mt_text_gcn runs that loop",
        description="MT-Text GCN: a two-layer GCN auto-encoder of the TextGCN word-sentence graph (one-hot "
                    "input, hidden 200) whose sentence embeddings feed one linear head per task, TEL-NLP sizes.",
    ),
)
