"""``floorplan train`` from the command line: success output and clear errors with exit code 2."""

from __future__ import annotations

import signal

import pytest
import torch

from model_code.cli import main
from model_code.model.loader import load_model
from tests.training.plans import write_channel_dataset

TINY = ["--encoder", "resnet18", "--encoder-depth", "3", "--decoder-channels", "32,16,8", "--crop-size", "64",
        "--working-size", "96", "--batch-size", "2", "--max-steps-per-epoch", "1", "--num-workers", "0",
        "--threads", "1", "--epochs", "1"]  # fmt: skip


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


def test_train_command_writes_the_model(tmp_path, capsys):
    data = write_channel_dataset(tmp_path / "plans", 3)
    out = tmp_path / "model"
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert main(["train", "--data", str(data), "--out", str(out), *TINY]) == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # restored
    captured = capsys.readouterr().out
    assert "epoch=1 train_loss=" in captured and f"model: {out} (completed after 1 epochs)" in captured
    assert load_model(out).metadata.training["train_plans"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--encoder", "resnet999"], "Wrong encoder name"),
        (["--encoder-depth", "4"], "decoder_channels"),
        (["--init-checkpoint", "/definitely/absent"], "no model checkpoint"),
        (["--encoder-weights", "coco"], "encoder_weights must be one of"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(tmp_path, capsys, extra, message):
    data = write_channel_dataset(tmp_path / "plans", 3)
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m"), *TINY, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_missing_data_folder(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "absent"), "--out", str(tmp_path / "m"), *TINY]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_non_numeric_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "many"])
    assert exit_info.value.code == 2
    assert "epochs: invalid value 'many'" in capsys.readouterr().err
