"""Decathlon (NIfTI + dataset.json) and MedMNIST (.npz) readers on files written in their real formats."""

import json

import nibabel as nib
import numpy as np
import pytest
import torch

import zoo
from zoo.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from zoo_medical.data.decathlon import load_decathlon, task_preprocessing
from zoo_medical.data.medmnist import load_medmnist


def write_task(root, name="Spleen", modality="CT", cases=5, spacing=(3.0, 3.0, 4.0)):
    """A miniature Decathlon task: a bright box (label 1) in noise, as NIfTI with a real affine."""
    rng = np.random.default_rng(0)
    for folder in ("imagesTr", "labelsTr", "imagesTs"):
        (root / folder).mkdir(parents=True)
    affine = np.diag([*spacing, 1.0])
    training = []
    for case in range(cases):
        label = np.zeros((12, 10, 8), np.uint8)
        label[3:8, 2:7, 2:6] = 1
        image = (rng.normal(-200, 30, label.shape) + 300.0 * label).astype(np.float32)
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / f"case_{case:03d}.nii.gz")
        nib.save(nib.Nifti1Image(label, affine), root / "labelsTr" / f"case_{case:03d}.nii.gz")
        training.append({"image": f"./imagesTr/case_{case:03d}.nii.gz", "label": f"./labelsTr/case_{case:03d}.nii.gz"})
    nib.save(nib.Nifti1Image(rng.normal(0, 1, (12, 10, 8)).astype(np.float32), affine),
             root / "imagesTs" / "case_100.nii.gz")
    manifest = {"name": name, "modality": {"0": modality}, "labels": {"0": "background", "1": name.lower()},
                "numTraining": cases, "numTest": 1, "training": training, "test": ["./imagesTs/case_100.nii.gz"]}
    (root / "dataset.json").write_text(json.dumps(manifest))
    return root


def test_decathlon_splits_and_spleen_preprocessing(tmp_path):
    root = write_task(tmp_path / "Task09_Spleen")
    train = zoo.dataset("medical-decathlon", root=root, split="train")
    validation = zoo.dataset("medical-decathlon", root=root, split="validation")
    assert (len(train), len(validation)) == (4, 1)
    names = {d["image"] for d in train.data} | {d["image"] for d in validation.data}
    assert len(names) == 5
    item = train[0]
    # Resampled from 3 x 3 x 4 mm to the spleen's 1.5 x 1.5 x 2 mm: twice as many voxels per axis.
    assert item["image"].shape[0] == 1 and item["image"].shape[1:] == item["label"].shape[1:]
    assert tuple(item["image"].shape[1:]) == (23, 19, 15)
    assert item["image"].min() >= 0 and item["image"].max() <= 1  # the spleen CT window, scaled
    assert set(torch.unique(item["label"]).tolist()) == {0.0, 1.0}
    assert train.labels == {0: "background", 1: "spleen"} and train.preprocessing["ct_window"] == (-57.0, 164.0)
    test = load_decathlon(root, "test")
    assert len(test) == 1 and "label" not in test[0]


def test_decathlon_mr_task_is_z_scored_over_the_body(tmp_path):
    root = write_task(tmp_path / "Task04_Hippocampus", name="Hippocampus", modality="MRI", spacing=(1.0, 1.0, 1.0))
    image = load_decathlon(root, "train")[0]["image"]
    assert image.mean().abs() < 1e-3 and (image.std() - 1).abs() < 1e-2


def test_unknown_tasks_fall_back_on_the_modality():
    assert task_preprocessing("MyLiverLesions")["task"] == "Liver"
    assert task_preprocessing("Kidney", {"0": "CT"})["ct_window"] == (-175.0, 250.0)
    assert task_preprocessing("Kidney", {"0": "T2"})["ct_window"] is None


def test_decathlon_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="medicaldecathlon.com"):
        zoo.dataset("medical-decathlon", root=tmp_path / "nowhere")
    with pytest.raises(DatasetNotFoundError, match="no dataset.json"):
        load_decathlon(tmp_path)
    root = write_task(tmp_path / "Task09_Spleen")
    (root / "labelsTr" / "case_002.nii.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="case_002.nii.gz listed in dataset.json is missing"):
        load_decathlon(root, "train", val_frac=0.0)
    with pytest.raises(ConfigError, match="split"):
        load_decathlon(root, "training")


def write_npz(path, shape, labels_per_item=1, classes=2, n=(6, 2, 3)):
    rng = np.random.default_rng(1)
    arrays = {}
    for split, count in zip(("train", "val", "test"), n):
        arrays[f"{split}_images"] = rng.integers(0, 256, (count, *shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, classes, (count, labels_per_item), dtype=np.uint8)
    np.savez_compressed(path, **arrays)
    return arrays


def test_medmnist_2d_rgb_grey_multilabel_and_3d(tmp_path):
    path_arrays = write_npz(tmp_path / "pathmnist.npz", (28, 28, 3), classes=9)
    write_npz(tmp_path / "chestmnist_64.npz", (64, 64), labels_per_item=14)
    write_npz(tmp_path / "organmnist3d_64.npz", (64, 64, 64), classes=11, n=(2, 1, 1))

    path = zoo.dataset("medmnist", root=tmp_path, split="val", flag="pathmnist")
    image, label = path[1]
    assert len(path) == 2 and image.shape == (3, 28, 28) and image.dtype == torch.float32
    assert torch.allclose(image, torch.from_numpy(path_arrays["val_images"][1]).permute(2, 0, 1) / 255.0)
    assert label.tolist() == path_arrays["val_labels"][1].tolist() and path.num_classes == 9

    chest = load_medmnist(tmp_path, "test", flag="chestmnist", size=64)
    image, label = chest[0]
    assert image.shape == (1, 64, 64) and label.shape == (14,) and chest.task == "multi-label"

    organ = load_medmnist(tmp_path, "train", flag="organmnist3d", size=64)
    assert organ[0][0].shape == (1, 64, 64, 64) and organ.spatial_dims == 3


def test_medmnist_infers_the_only_subset_and_reports_problems(tmp_path):
    write_npz(tmp_path / "breastmnist.npz", (28, 28))
    assert load_medmnist(tmp_path).flag == "breastmnist"
    with pytest.raises(DatasetNotFoundError, match="medmnist.com"):
        zoo.dataset("medmnist", root=tmp_path / "nowhere")
    with pytest.raises(DatasetNotFoundError, match="pathmnist_224.npz"):
        load_medmnist(tmp_path, flag="pathmnist", size=224)
    with pytest.raises(ConfigError, match="unknown flag"):
        load_medmnist(tmp_path, flag="pathmnistt")
    np.savez(tmp_path / "octmnist.npz", train_images=np.zeros((2, 28, 28, 3), np.uint8),
             train_labels=np.zeros((2, 1), np.uint8))
    with pytest.raises(ConfigError, match="pass flag"):
        load_medmnist(tmp_path)
    with pytest.raises(DatasetFormatError, match="rank 3"):
        load_medmnist(tmp_path, flag="octmnist")
    with pytest.raises(DatasetFormatError, match="val_images"):
        load_medmnist(tmp_path, "val", flag="octmnist")


def test_decathlon_multimodal_4d_nifti_becomes_channels(tmp_path):
    # Prostate (like BrainTumour) stores its modalities along a 4th NIfTI axis: T2 and ADC here.
    root = write_task(tmp_path / "Task05_Prostate", name="Prostate", modality="MRI", cases=2, spacing=(0.625,) * 3)
    manifest = json.loads((root / "dataset.json").read_text())
    manifest["modality"] = {"0": "T2", "1": "ADC"}
    (root / "dataset.json").write_text(json.dumps(manifest))
    for entry in manifest["training"]:
        path = root / entry["image"]
        t2 = nib.load(path).get_fdata().astype(np.float32)
        adc = 1000 + 5 * t2
        nib.save(nib.Nifti1Image(np.stack([t2, adc], axis=-1), np.diag([0.625, 0.625, 0.625, 1.0])), path)
    image = load_decathlon(root, "train", val_frac=0.5)[0]["image"]
    assert image.shape[0] == 2
    assert torch.allclose(image.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-3)  # each channel z-scored


def test_malformed_files_are_format_errors_not_tracebacks(tmp_path):
    """Issue 18, item 6: a broken .npz or dataset.json is a DatasetFormatError naming the file."""
    good = tmp_path / "good.npz"
    write_npz(good, (28, 28))
    (tmp_path / "breastmnist.npz").write_bytes(good.read_bytes()[:200])  # truncated download
    with pytest.raises(DatasetFormatError, match=r"breastmnist.npz is not a readable MedMNIST .npz"):
        load_medmnist(tmp_path, flag="breastmnist")
    (tmp_path / "breastmnist.npz").write_bytes(b"<html>rate limited</html>")
    with pytest.raises(DatasetFormatError, match="not a readable"):
        load_medmnist(tmp_path, flag="breastmnist")
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "breastmnist.npz").write_bytes((tmp_path / "array.npy").read_bytes())
    with pytest.raises(DatasetFormatError, match="found a single array"):
        load_medmnist(tmp_path, flag="breastmnist")

    root = write_task(tmp_path / "Task09_Spleen", cases=2)
    (root / "dataset.json").write_text('{"name": "Spleen", "training": [')
    with pytest.raises(DatasetFormatError, match="dataset.json is not valid JSON"):
        load_decathlon(root)
    (root / "dataset.json").write_text("[]")
    with pytest.raises(DatasetFormatError, match="must hold a JSON object"):
        load_decathlon(root)
    (root / "dataset.json").write_text('{"name": "Spleen", "test": []}')
    with pytest.raises(DatasetFormatError, match="no usable 'training' list"):
        load_decathlon(root)


def test_decathlon_construction_raises_no_monai_warning(tmp_path, recwarn):
    import warnings

    warnings.simplefilter("always")
    dataset = load_decathlon(write_task(tmp_path / "Task09_Spleen", cases=2), "train", val_frac=0.0)
    dataset[0]
    assert [str(w.message) for w in recwarn if issubclass(w.category, (FutureWarning, DeprecationWarning))] == []
