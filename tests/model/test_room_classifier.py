"""The room classifier: features of detected rooms, the flattened tree ensemble, its file, its training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import model_code.training.rooms as room_training
from model_code.cli import main
from model_code.model.checkpoint import CheckpointError, resolve_model_dir
from model_code.model.loader import load_model
from model_code.model.room_classifier import (
    CLASSIFIER_FILE,
    COLOUR_FEATURES,
    RoomClassifierError,
    feature_names,
    load_room_classifier,
    room_features,
    softmax,
)
from model_code.schema import ROOM_TYPES
from model_code.training.rooms import CLASSES, RoomTrainingError, fit_classifier, fit_temperature, flatten

# columns of room_features that do not depend on the drawing's size (lengths are in wall thicknesses)
SCALE_FREE = [
    "log_area_t2",
    "area_share",
    "area_vs_median",
    "area_rank",
    "log_elongation",
    "solidity",
    "rectangularity",
    "inscribed_radius_t",
    "neighbours",
    "log_largest_neighbour",
    "openings",
]


def random_problem(classes: int, rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(feature_names())))
    y = (np.digitize(x[:, 0] + 0.5 * x[:, 3], np.linspace(-1.5, 1.5, classes - 1))).astype(int)
    return x, y


@pytest.mark.parametrize("classes", [2, 5])
def test_the_flattened_trees_give_scikit_learns_probabilities(classes: int) -> None:
    x, y = random_problem(classes)
    y = np.where(y >= 1, y + 1, y)  # class 1 never seen: it must never be predicted
    estimator = HistGradientBoostingClassifier(max_iter=25, max_leaf_nodes=15, random_state=0).fit(x, y)
    flat = flatten(estimator, CLASSES)
    ours = flat.predict_proba(x[:50])
    theirs = estimator.predict_proba(x[:50])
    np.testing.assert_allclose(ours[:, estimator.classes_], theirs, atol=1e-9)
    assert ours[:, 1].max() < 1e-15
    np.testing.assert_allclose(ours.sum(axis=1), 1.0)


def rare_type_problem() -> tuple[np.ndarray, np.ndarray]:
    """Four common types the features do not tell apart and a rare fifth one with five rooms: the
    unregularised multiclass fit drives the rare type's hessians to zero and its leaf values explode."""
    rng = np.random.default_rng(0)
    x = np.zeros((800, len(feature_names())))
    x[:, :20] = rng.normal(size=(800, 20))
    y = rng.integers(0, 4, 800)
    y[rng.choice(800, 5, replace=False)] = 4
    return x, y


def test_a_rare_type_does_not_make_the_tree_ensemble_diverge() -> None:
    x, y = rare_type_problem()
    classifier = fit_classifier(x, y, learning_rate=0.5)
    assert room_training.training_accuracy(classifier, x, y) > 0.9  # without L2: 0.30, scores of 75,000
    assert np.abs(classifier.raw_scores(x) - classifier.baseline).max() < room_training.MAX_TREE_SCORE


def test_the_trees_never_split_on_the_rooms_colour() -> None:
    """The paper's tone is no room type: even where colour alone would tell the types apart, the fitted
    trees use the other features, and repainting a room changes nothing."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, len(feature_names())))
    y = rng.integers(0, 3, 600)
    colour = [feature_names().index(name) for name in COLOUR_FEATURES]
    x[:, colour] = y[:, None] + 0.01 * rng.normal(size=(600, len(colour)))
    x[:, 0] += 1.5 * y  # the area tells the type less cleanly
    classifier = fit_classifier(x, y, iterations=30)
    split_on = classifier.feature[classifier.left >= 0]
    assert not np.isin(split_on, colour).any() and (split_on == 0).any()
    repainted = x.copy()
    repainted[:, colour] = rng.uniform(size=(600, len(colour)))
    np.testing.assert_array_equal(classifier.raw_scores(repainted), classifier.raw_scores(x))
    assert room_training.training_accuracy(classifier, x, y) > 0.8


def test_a_diverged_fit_is_refused_not_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(room_training, "L2_REGULARIZATION", 0.0)  # the settings that diverged
    x, y = rare_type_problem()
    with pytest.raises(RoomTrainingError, match="diverged"):
        fit_classifier(x, y, learning_rate=0.5)


def test_the_temperature_fitted_on_held_out_scores_undoes_overconfidence() -> None:
    rng = np.random.default_rng(1)
    honest = rng.normal(size=(4000, 6))
    y = np.array([rng.choice(6, p=p) for p in softmax(honest)])
    assert fit_temperature(3.0 * honest, y) == pytest.approx(3.0, rel=0.1)  # scores three times too sure
    assert fit_temperature(honest, y) == pytest.approx(1.0, abs=0.1)


def test_the_classifier_file_round_trips_and_refuses_other_features(tmp_path: Path) -> None:
    x, y = random_problem(4)
    flat = flatten(HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y), CLASSES)
    flat.save(tmp_path)
    loaded = load_room_classifier(tmp_path)
    assert loaded is not None and loaded.classes == CLASSES
    np.testing.assert_array_equal(loaded.predict_proba(x[:20]), flat.predict_proba(x[:20]))
    assert load_room_classifier(tmp_path / "nowhere") is None

    flat.temperature = 2.5
    flat.save(tmp_path)
    cooled = load_room_classifier(tmp_path)
    assert cooled is not None and cooled.temperature == 2.5
    np.testing.assert_allclose(cooled.predict_proba(x[:20]), softmax(flat.raw_scores(x[:20]), 2.5))
    assert (
        cooled.predict_proba(x[:20]).max(axis=1).mean()
        < flat.predict_proba(x[:20]).max(axis=1).mean() + 1e-12
    )

    flat.feature_version = 0
    flat.save(tmp_path)
    with pytest.raises(RoomClassifierError, match="train-rooms"):
        load_room_classifier(tmp_path)
    (tmp_path / CLASSIFIER_FILE).write_bytes(b"not safetensors")
    with pytest.raises(RoomClassifierError, match="cannot read"):
        load_room_classifier(tmp_path)


def test_a_checkpoint_with_a_broken_classifier_is_refused_by_name(tmp_path: Path) -> None:
    directory = tmp_path / "model"
    shutil.copytree(resolve_model_dir(None), directory)
    (directory / CLASSIFIER_FILE).write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match=CLASSIFIER_FILE):
        load_model(directory)
    # train-rooms loads it without the classifier, to replace it
    assert load_model(directory, runtime="onnx", room_classifier=False).room_classifier is None


def two_room_plan(scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A building of a big room and a small one joined by a door, at ``scale`` times 120 x 200 px."""
    wall = np.zeros((120, 200), np.uint8)
    cv2.rectangle(wall, (10, 10), (190, 110), 1, 4)
    cv2.line(wall, (130, 10), (130, 110), 1, 4)
    opening = np.zeros_like(wall)
    opening[50:70, 128:133] = 1
    wall[50:70, 128:133] = 0
    labels = np.zeros((120, 200), np.int32)
    labels[13:108, 13:128] = 1
    labels[13:108, 133:188] = 2
    rgb = np.full((120, 200, 3), 255, np.uint8)
    rgb[wall.astype(bool)] = 0
    cv2.circle(rgb, (160, 40), 8, (0, 0, 0), 1)  # a fixture in the small room
    size = (200 * scale, 120 * scale)
    return (
        cv2.resize(rgb, size, interpolation=cv2.INTER_NEAREST),
        cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST),
        cv2.resize(wall, size, interpolation=cv2.INTER_NEAREST).astype(bool),
        cv2.resize(opening, size, interpolation=cv2.INTER_NEAREST).astype(bool),
    )


def test_room_features_describe_a_room_alike_at_two_sizes() -> None:
    small = room_features(*two_room_plan(1))
    large = room_features(*two_room_plan(3))
    assert small.shape == (2, len(feature_names()))
    columns = [feature_names().index(name) for name in SCALE_FREE]
    np.testing.assert_allclose(large[:, columns], small[:, columns], rtol=0.15, atol=0.15)
    named = dict(zip(feature_names(), small[0], strict=True))
    assert named["area_share"] > 0.6 and named["area_rank"] == 0.0 and named["openings"] == 1
    assert named["neighbours"] == 1
    assert small[1, feature_names().index("log_ink_parts")] > small[0, feature_names().index("log_ink_parts")]


def test_room_features_refuse_arrays_of_different_sizes_and_tolerate_empty_labels() -> None:
    rgb, labels, wall, opening = two_room_plan(1)
    with pytest.raises(ValueError, match="differ"):
        room_features(rgb[:-1], labels, wall, opening)
    labels = labels.copy()
    labels[labels == 1] = 3  # label 1 has no pixel
    out = room_features(rgb, labels, wall, opening)
    assert out.shape[0] == 3 and not out[0].any() and out[2].any()
    assert room_features(rgb, np.zeros_like(labels), wall, opening).shape == (0, len(feature_names()))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rooms_data") / "plans"
    assert main(["synth", "--count", "6", "--out", str(out), "--seed", "4100", "--size", "448:512"]) == 0
    return out


@pytest.mark.slow
def test_train_rooms_teaches_a_checkpoint_that_the_pipeline_then_uses(
    generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from model_code.datasets.layouts import open_dataset
    from model_code.evaluation.scoring import room_analysis
    from model_code.evaluation.truth import load_ground_truth
    from model_code.pipeline import Pipeline

    model = tmp_path / "model"
    examples = tmp_path / "rooms.npz"
    bundled = (resolve_model_dir(None) / CLASSIFIER_FILE).read_bytes()
    args = [
        "train-rooms",
        "--data",
        str(generated),
        "--split",
        "all",
        "--model",
        "default",
        "--out",
        str(model),
    ]
    code = main([*args, "--iterations", "40", "--folds", "2", "--examples", str(examples)])
    assert code == 0
    summary = json.loads((model / "room_classifier.json").read_text())
    assert summary["plans"] == 6 and summary["rooms"] >= 20 and "type_accuracy" in summary["cross_validation"]
    assert load_room_classifier(model).temperature == summary["cross_validation"]["temperature"]
    assert (model / CLASSIFIER_FILE).is_file() and examples.is_file()
    assert (resolve_model_dir(None) / CLASSIFIER_FILE).read_bytes() == bundled  # --out left it alone
    assert (model / CLASSIFIER_FILE).read_bytes() != bundled
    capsys.readouterr()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz")
    assert main([*args, "--examples", str(broken)]) == 2
    assert "cannot read the kept rooms" in capsys.readouterr().err
    # the kept rooms train the same classifier again without running the pipeline
    assert main([*args, "--iterations", "40", "--folds", "0", "--examples", str(examples)]) == 0

    pipeline = Pipeline.load(model)
    assert pipeline.model is not None and pipeline.model.room_classifier is not None
    right = judged = 0
    for sample in open_dataset(generated)[:3]:
        truth = load_ground_truth(sample)
        result = pipeline.analyze(truth.image)
        doc = result.document
        assert "room_types" in doc.timing_ms
        assert [room.id for room in doc.rooms] == [f"r{k}" for k in range(1, len(doc.rooms) + 1)]
        assert all(room.type in ROOM_TYPES and 0 < room.type_confidence <= 1 for room in doc.rooms)
        assert all(room.name_hint for room in doc.rooms)
        assert result.room_features is not None and len(result.room_features) == len(doc.rooms)
        analysis = room_analysis(truth, result)
        for outcome in analysis.outcomes:
            if outcome.type_correct is not None:
                judged += 1
                right += outcome.type_correct
    assert judged >= 8 and right / judged >= 0.7  # rooms it was trained on are typed right

    # and /invocations answers with the same typed rooms
    from model_code.schema import validate_result
    from model_code.serving.app import create_app
    from model_code.serving.config import ServingConfig
    from tests.serving.helpers import ping_once_loaded

    client = create_app(ServingConfig(workers=1), loader=lambda: pipeline).test_client()
    assert ping_once_loaded(client).status_code == 200
    sample = open_dataset(generated)[0]
    response = client.post("/invocations", data=sample.image_path.read_bytes(), content_type="image/png")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate_result(body)
    direct = pipeline.analyze(load_ground_truth(sample).image).document.rooms
    assert [room["type"] for room in body["rooms"]] == [room.type for room in direct]
    served = [room["type_confidence"] for room in body["rooms"]]
    np.testing.assert_allclose(served, [room.type_confidence for room in direct], atol=1e-3)


def test_train_rooms_explains_data_without_room_types(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "plain"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    image = np.full((96, 96, 3), 255, np.uint8)
    cv2.rectangle(image, (8, 8), (88, 88), (0, 0, 0), 3)
    cv2.imwrite(str(folder / "images" / "a.png"), image)
    cv2.imwrite(str(folder / "masks" / "a.png"), np.where(image[:, :, 0] < 128, 255, 0).astype(np.uint8))
    code = main(
        [
            "train-rooms",
            "--data",
            str(folder),
            "--split",
            "all",
            "--model",
            "default",
            "--out",
            str(tmp_path / "m"),
        ]
    )
    assert code == 2
    assert "room types" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_a_trained_model_keeps_its_init_checkpoints_room_classifier(tmp_path: Path) -> None:
    from model_code.training.loop import _carry_room_classifier

    init, out = tmp_path / "init", tmp_path / "out"
    init.mkdir()
    out.mkdir()
    x, y = random_problem(3)
    flatten(HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(x, y), CLASSES).save(init)
    (init / "room_classifier.json").write_text("{}")
    _carry_room_classifier(str(init), out)
    assert (out / CLASSIFIER_FILE).read_bytes() == (init / CLASSIFIER_FILE).read_bytes()
    assert (out / "room_classifier.json").is_file()
    _carry_room_classifier(None, out)  # trained from scratch: a stale classifier must not survive
    assert not (out / CLASSIFIER_FILE).exists() and not (out / "room_classifier.json").exists()
    _carry_room_classifier(str(init), init)  # out == init: nothing to copy, nothing lost
    assert (init / CLASSIFIER_FILE).is_file()
