"""The LRW reader on small generated files in both published layouts, its transforms, the word
boundary, its errors, and the training recipe running on it."""

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import DatasetFormatError, DatasetNotFoundError
from zoo_lipreading.data.lrw import LRW, boundary_vector
from zoo_lipreading.data.transforms import lrw_transform
from zoo_lipreading.recipe import RECIPE, fit, mixup, optimiser_for
from zoo_lipreading.video import lrw_words

WORDS = ("ABOUT", "YOUNG")
ANNOTATION = "Text:  {word}\nConf:  4\n\nWORD START END ASDSCORE\nDuration: {duration} seconds\n"


def crops(word_index, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 60, (29, 96, 96), dtype=np.uint8)
    data[:, :48] += 150 if word_index == 0 else 0  # the two words look different: bright top or bottom
    data[:, 48:] += 150 if word_index == 1 else 0
    return data


@pytest.fixture
def npz_root(tmp_path):
    for w, word in enumerate(WORDS):
        for split in ("train", "val"):
            folder = tmp_path / "npz" / word / split
            folder.mkdir(parents=True)
            for n in range(1, 5):
                np.savez_compressed(folder / f"{word}_{n:05d}.npz", data=crops(w, n))
                (folder / f"{word}_{n:05d}.txt").write_text(ANNOTATION.format(word=word, duration=0.2 * n))
    return tmp_path / "npz"


def test_npz_layout(npz_root):
    data = zoo.dataset("lrw", root=npz_root, split="val")
    assert len(data) == 8 and data.targets == [lrw_words().index("ABOUT")] * 4 + [lrw_words().index("YOUNG")] * 4
    item = data[0]
    assert item["video"].shape == (1, 29, 88, 88) and item["video"].dtype == torch.float32
    expected = (crops(0, 1)[:, 4:92, 4:92].astype(np.float32) / 255 - 0.421) / 0.165
    np.testing.assert_allclose(item["video"][0].numpy(), expected, rtol=1e-6)


def test_train_transform_random_crop_and_flip():
    clip = np.arange(29 * 96 * 96, dtype=np.int64).reshape(29, 96, 96) % 251
    flipped = 0
    for seed in range(12):
        out = lrw_transform("train", torch.Generator().manual_seed(seed))(clip.astype(np.uint8))[0]
        raw = (out * 0.165 + 0.421) * 255
        flipped += bool(raw[0, 0, 0] < raw[0, 0, 1]) is False
        found = False
        for top in range(9):
            for left in range(9):
                window = torch.from_numpy(clip[:, top:top + 88, left:left + 88]).float()
                if not (torch.allclose(raw[0, 0], window[0, 0], atol=1e-3)
                        or torch.allclose(raw[0, 0], window[0, 0].flip(-1), atol=1e-3)):
                    continue
                found |= bool(torch.allclose(raw, window, atol=1e-3) or torch.allclose(raw, window.flip(-1), atol=1e-3))
        assert out.shape == (29, 88, 88) and found
    assert 0 < flipped < 12  # both flipped and unflipped crops occur


def test_boundary_from_the_annotation(npz_root, tmp_path):
    assert boundary_vector(0.53).tolist() == [0.0] * 7 + [1.0] * 14 + [0.0] * 8  # half = int(0.265 * 25) = 6
    item = LRW(npz_root, "train", boundary=True)[2]
    assert item["boundary"].shape == (29,) and item["boundary"].sum() == len(range(14 - 7 - 1, 14 + 7 + 1))
    elsewhere = tmp_path / "annotations" / "ABOUT" / "train"
    elsewhere.mkdir(parents=True)
    (elsewhere / "ABOUT_00001.txt").write_text(ANNOTATION.format(word="ABOUT", duration=1.0))
    assert LRW(npz_root, "train", boundary=True, annotations=tmp_path / "annotations")[0]["boundary"].sum() == 26


def test_raw_mp4_layout(tmp_path, write_video):
    folder = tmp_path / "lipread_mp4" / "ABOUT" / "test"
    folder.mkdir(parents=True)
    frames = np.zeros((29, 256, 256, 3), dtype=np.uint8)
    frames[:, 115:211, 80:176] = 200  # the mouth region of LRW's face-centred frames
    write_video(folder / "ABOUT_00001.mp4", frames)
    (folder / "ABOUT_00001.txt").write_text(ANNOTATION.format(word="ABOUT", duration=0.53))
    data = LRW(tmp_path, "test", boundary=True)
    clip = data.clip(0)
    assert clip.shape == (29, 96, 96) and abs(float(clip[:, 8:88, 8:88].mean()) - 200) < 4
    item = data[0]
    assert item["label"] == 0 and item["video"].shape == (1, 29, 88, 88) and item["boundary"].sum() == 14


def test_errors_say_what_is_wrong(npz_root, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="lipread_mp4"):
        LRW(tmp_path / "nowhere")
    with pytest.raises(DatasetFormatError, match="split must be one of"):
        LRW(npz_root, "dev")
    with pytest.raises(DatasetFormatError, match="no LRW test clips"):
        LRW(npz_root, "test")
    with pytest.raises(DatasetFormatError, match="no word folder"):
        LRW(npz_root, "train", labels=["HELLO"])
    bad = npz_root / "ABOUT" / "train" / "ABOUT_00001.npz"
    np.savez_compressed(bad, frames=np.zeros((29, 96, 96), np.uint8))
    with pytest.raises(DatasetFormatError, match="'data' array"):
        LRW(npz_root, "train")[0]
    np.savez_compressed(bad, data=np.zeros((29, 64, 64), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"\[T, 96, 96\]"):
        LRW(npz_root, "train")[0]
    (npz_root / "YOUNG" / "train" / "YOUNG_00001.txt").write_text("Text:  YOUNG\n")
    with pytest.raises(DatasetFormatError, match="Duration"):
        LRW(npz_root, "train", boundary=True)[4]


def test_mixup_and_the_recipe_on_the_reader(npz_root):
    torch.manual_seed(0)
    x, y = torch.randn(6, 1, 3, 4, 4), torch.arange(6)
    mixed, y_a, y_b, lam = mixup(x, y, 0.4)
    assert 0 <= lam <= 1 and torch.equal(y_a, y) and sorted(y_b.tolist()) == list(range(6))
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[y_b])
    optimiser, schedule = optimiser_for(torch.nn.Linear(2, 2))
    assert optimiser.defaults["lr"] == 3e-4 and optimiser.defaults["weight_decay"] == 1e-2 and schedule.T_max == 120
    assert RECIPE["batch_size"] == 32 and RECIPE["mixup_alpha"] == 0.4

    # a short CPU run: frames subsampled in time and space so that the full TD3Net-Base trains in seconds
    train = lrw_transform("train", torch.Generator().manual_seed(0))
    data = LRW(npz_root, "train", transform=lambda clip: train(clip)[:, ::6, ::4, ::4])
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    model = zoo.build("td3net-base", num_classes=500)
    losses = fit(model, loader, epochs=3, lr=1e-3)
    assert losses[-1] < losses[0] - 1, losses
