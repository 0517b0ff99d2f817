"""Room-type channels in training: targets, the masked loss, head adaptation and typed annotations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model_code.datasets.layouts import open_dataset
from model_code.datasets.room_maps import TYPE_UNKNOWN, annotation_type_map, r3d_type_map, type_index
from model_code.datasets.torch_data import IGNORE, target_planes
from model_code.model.checkpoint import CHANNELS
from model_code.model.loader import load_model
from model_code.model.network import adapt_channels, build_network
from model_code.schema import ROOM_TYPES, Annotation
from model_code.training.loop import SegmentationLoss, initial_network, room_type_prediction, train
from tests.conftest import TINY_SPEC
from tests.training.plans import annotation_for, draw_plan, write_annotation_dataset
from tests.training.test_loop import tiny

TYPED = (*CHANNELS, *ROOM_TYPES)


def test_target_planes_one_hot_types_and_ignore_unknown():
    masks = np.zeros((4, 5, 3), np.uint8)
    masks[0, :, 0] = 1  # wall row
    masks[1, :2, 1] = 1  # opening
    masks[2, :, 2] = type_index("bedroom")
    masks[3, :, 2] = TYPE_UNKNOWN
    planes = target_planes(masks, TYPED)
    assert planes.shape == (8, 4, 5) and planes.dtype == np.float32
    assert planes[0, 0].tolist() == [1] * 5 and planes[1, 1, :2].tolist() == [1, 1]
    bedroom = planes[TYPED.index("bedroom")]
    assert bedroom[2].tolist() == [1] * 5 and bedroom[0].tolist() == [0] * 5
    for name in ROOM_TYPES:  # unknown type: every type plane ignores the pixel; walls still count
        assert planes[TYPED.index(name), 3].tolist() == [IGNORE] * 5
    assert planes[0, 3].tolist() == [0] * 5
    assert target_planes(masks, CHANNELS).shape == (2, 4, 5)


def test_loss_ignores_unknown_pixels_and_rewards_the_truth():
    torch.manual_seed(0)
    target = torch.zeros(2, 3, 8, 8)
    target[:, 0, 2:4] = 1
    target[:, 2, :, :4] = IGNORE
    loss_fn = SegmentationLoss(dice_weight=1.0)
    logits = torch.randn(2, 3, 8, 8)
    changed = logits.clone()
    changed[:, 2, :, :4] = 50.0  # only ignored pixels change
    assert torch.isclose(loss_fn(logits, target), loss_fn(changed, target))
    perfect = torch.where(target > 0, 20.0, -20.0)
    assert float(loss_fn(perfect, target)) < 0.01 < float(loss_fn(-perfect, target))
    everything_ignored = torch.full_like(target, IGNORE)
    assert float(loss_fn(logits, everything_ignored)) == 0.0


def test_room_types_do_not_dilute_the_wall_and_opening_loss():
    torch.manual_seed(1)
    masks_target = (torch.rand(2, 2, 8, 8) > 0.7).float()
    masks_logits = torch.randn(2, 2, 8, 8)
    types_target = torch.zeros(2, 6, 8, 8)
    types_target[:, 3] = 1
    perfect_types = torch.where(types_target > 0, 30.0, -30.0)
    alone = SegmentationLoss()(masks_logits, masks_target)
    grouped = SegmentationLoss(type_channels=tuple(range(2, 8)))(
        torch.cat([masks_logits, perfect_types], 1), torch.cat([masks_target, types_target], 1)
    )
    assert torch.isclose(grouped, alone, atol=1e-4)
    wrong_types = SegmentationLoss(type_channels=tuple(range(2, 8)), room_type_weight=0.5)(
        torch.cat([masks_logits, -perfect_types], 1), torch.cat([masks_target, types_target], 1)
    )
    assert float(wrong_types) > float(alone) + 0.5


def test_adapt_channels_keeps_trained_rows_and_adds_new_ones():
    torch.manual_seed(0)
    network = build_network(TINY_SPEC).eval()
    x = torch.rand(1, 3, 64, 64)
    before = network(x)
    adapt_channels(network, CHANNELS, TYPED)
    after = network(x)
    assert after.shape[1] == 8
    assert torch.allclose(after[:, :2], before, atol=1e-6)
    adapt_channels(network, TYPED, ("wall",))
    assert torch.allclose(network(x)[:, 0], before[:, 0], atol=1e-6)


def test_room_type_prediction_takes_the_likeliest_type_over_the_threshold():
    probs = np.zeros((8, 1, 3), np.float32)
    probs[TYPED.index("closet"), 0, 0] = 0.9
    probs[TYPED.index("hall"), 0, 0] = 0.6
    probs[TYPED.index("balcony"), 0, 1] = 0.4  # below the threshold: none
    assert room_type_prediction(probs, TYPED).tolist() == [[type_index("closet"), 0, 0]]


def test_r3d_colours_and_annotation_names_give_type_maps():
    rgb = np.zeros((2, 4, 3), np.uint8)
    rgb[0, 0] = (192, 192, 224)  # closet
    rgb[0, 1] = (255, 160, 96)  # hall
    rgb[0, 2] = (224, 224, 224)  # outside the legend: unknown
    rgb[0, 3] = (2, 2, 2)  # noise: none
    assert r3d_type_map(rgb)[0].tolist() == [type_index("closet"), type_index("hall"), TYPE_UNKNOWN, 0]
    record = annotation_for(1)
    record["rooms"] = [
        {"id": "a", "bounding_box": [10, 10, 40, 80], "name_hint": "Master Bedroom"},
        {"id": "b", "bounding_box": [50, 10, 85, 80], "name_hint": "Mystery"},
    ]
    types = annotation_type_map(Annotation.from_dict(record), 96, 96)
    assert types[40, 20] == type_index("bedroom") and types[40, 60] == TYPE_UNKNOWN
    assert types[5, 5] == TYPE_UNKNOWN  # outside every listed room: not said


def test_init_from_a_wall_and_opening_checkpoint_adds_room_types(tmp_path, tiny_checkpoint):
    data = write_annotation_dataset(tmp_path / "plans", 3)
    config = tiny(tmp_path, data, init_checkpoint=str(tiny_checkpoint), room_types="yes")
    network, metadata, _ = initial_network(config)
    assert metadata.spec.channels == TYPED
    reference = load_model(tiny_checkpoint).network.state_dict()
    head = "segmentation_head.0.weight"
    assert torch.equal(network.state_dict()[head][:2], reference[head])
    config.room_types = "no"
    assert initial_network(config)[1].spec.channels == CHANNELS
    config.room_types = "maybe"
    with pytest.raises(ValueError, match="room_types must be one of"):
        config.check()


@pytest.mark.slow
def test_training_on_named_rooms_learns_room_type_channels(tmp_path):
    root = write_annotation_dataset(tmp_path / "plans", 6)
    for path in (root / "annotations").glob("*.json"):  # two named rooms per plan, as customers label them
        record = json.loads(path.read_text())
        record["rooms"] = [
            {"id": "r1", "bounding_box": [10, 10, 45, 86], "name_hint": "Kitchen"},
            {"id": "r2", "bounding_box": [50, 10, 86, 86], "name_hint": "Bedroom 2"},
        ]
        path.write_text(json.dumps(record))
    sample = open_dataset(root)[0]
    assert sample.has_room_types and sample.load().room_type is not None
    result = train(tiny(tmp_path, root, epochs=1))
    loaded = load_model(result.model_dir)
    assert loaded.metadata.spec.channels == TYPED
    assert {"val_type_miou", "val_type_accuracy"} <= set(loaded.metadata.metrics)
    from model_code.model.inference import predict_probabilities

    assert predict_probabilities(loaded, draw_plan(3, 80)[0]).shape == (8, 80, 80)
