"""``data "photos/"``: class-per-subfolder images (and text), checked, split and read from disk."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from nndsl import codes, ir
from nndsl.check import check
from nndsl.data import prepare_data
from nndsl.data.stream import is_stream, split_rows
from nndsl.diagnostics import SpecError
from nndsl.errors import DataError

from folder_data import png_bytes, write_digit_folder

CONVNET = """input 28 28 1
conv2d 4 3 relu
flatten
dense {classes} softmax
adam 0.003
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs=4 batch_size=16 seed=1
data "photos/"{options}
"""


def model(registry, classes=3, options="", text=CONVNET) -> ir.Model:
    return check(text.format(classes=classes, options=options), registry=registry)


def prepared(registry, tmp_path, m=None, **split):
    m = m or model(registry)
    return prepare_data(m.training.data, m, registry, base_dir=str(tmp_path), **split)


@pytest.fixture
def photos(tmp_path):
    write_digit_folder(tmp_path / "photos", classes=(0, 1, 2), per_class=20)
    return tmp_path / "photos"


# Listing and checking (no TensorFlow) --------------------------------------------------------


def test_classes_are_the_sorted_folder_names_and_the_splits_follow_the_seed(registry, tmp_path, photos):
    p = prepared(registry, tmp_path, seed=3, validation_split=0.25, test_split=0.1)
    assert is_stream(p.x_train) and p.y_train is None
    assert "60 images in 3 class folders: one, two, zero" in p.source
    assert p.notes[0] == "classes from folder names, in sorted order: 0 one (20), 1 two (20), 2 zero (20)"
    assert (len(p.x_test), len(p.x_val), len(p.x_train)) == (6, 14, 40)
    # the same permutation as arrays get from nndsl.prepare: a run, its resume and evaluate agree
    train, val, test, _ = split_rows(60, seed=3, validation_split=0.25, test_split=0.1)
    ids = np.repeat([0, 1, 2], 20)  # listing order: class by class
    assert list(p.x_test.class_ids) == list(ids[test]) and list(p.x_train.class_ids) == list(ids[train])


def test_a_bad_image_stops_the_run_by_name_or_is_skipped_with_a_warning(registry, tmp_path, photos):
    (photos / "two" / "cut.png").write_bytes(png_bytes(np.zeros((28, 28), np.uint8))[:-12])
    (photos / "one" / "notes.png").write_text("not an image")
    with pytest.raises(DataError) as err:
        prepared(registry, tmp_path)
    assert "has 2 images that cannot be read" in str(err.value)
    assert "one/notes.png is not a PNG, JPEG, GIF or BMP image" in str(err.value)
    assert "two/cut.png is a truncated PNG" in str(err.value) and "bad_files=skip" in err.value.hint
    p = prepared(registry, tmp_path, model(registry, options=" bad_files=skip"))
    assert p.warnings[0].startswith("skipped 2 images that cannot be read (bad_files=skip): one/notes.png")
    assert len(p.x_train) + len(p.x_test) == 60


def test_files_that_are_not_images_are_ignored_and_named(registry, tmp_path, photos):
    (photos / "zero" / "README.txt").write_text("digits")
    (photos / "zero" / ".DS_Store").write_bytes(b"\0")
    (photos / "loose.png").write_bytes(b"belongs to no class")
    p = prepared(registry, tmp_path)
    assert p.warnings == ("ignored 1 file that is not an image by name: zero/README.txt",)


@pytest.mark.parametrize("layout, pattern", [
    ({}, r"'photos/' has no class folders"),
    ({"cats/a.png": "png"}, r"has one class folder \('cats'\); a classifier needs two or more"),
    ({"cats/a.txt": "x", "dogs/b.txt": "y"}, r"has class folders \(cats, dogs\) but no images in them; files found "
                                             r"with other suffixes: cats/a.txt, dogs/b.txt"),
    ({"a/1.png": "png", "b/1.png": "png", "c/1.png": "png", "d/1.png": "png"},
     r"has 4 class folders \(a, b, c, d\) but output 'dense' has shape \(3,\)"),
])
def test_bad_folders(registry, tmp_path, layout, pattern):
    root = tmp_path / "photos"
    root.mkdir()
    for rel, content in layout.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        data = png_bytes(np.zeros((28, 28), np.uint8)) if content == "png" else content.encode()
        (root / rel).write_bytes(data)
    with pytest.raises(DataError, match=pattern):
        prepared(registry, tmp_path)


def test_missing_folder_and_models_a_folder_cannot_feed(registry, tmp_path, photos):
    m = model(registry, text=CONVNET.replace('"photos/"', '"gone/"'))
    with pytest.raises(DataError, match=r"data folder 'gone/' not found"):
        prepared(registry, tmp_path, m)
    two_in = check("input a 28 28 1\ninput b 4\nx = a -> flatten\noutput y = concat(x, b) -> dense 3 softmax\n"
                   "loss sparse_categorical_crossentropy\ndata \"photos/\"", registry=registry)
    with pytest.raises(DataError, match=r"one input and one output; this one has 2 input\(s\)"):
        prepared(registry, tmp_path, two_in)


@pytest.mark.parametrize("options, text, pattern", [
    (" image_size=(32, 32)", CONVNET, r"image_size=\(32, 32\) does not fit input 'input_layer' of shape \(28, 28, 1\)"),
    (" color_mode=rgb", CONVNET, r"color_mode=rgb makes 3 channels, but input 'input_layer' has 1"),
    ("", CONVNET.replace("input 28 28 1", "input 784").replace("conv2d 4 3 relu\n", ""),
     r"input 'input_layer' has shape \(784,\); images from 'photos/' need an input of rank 3"),
    ("", CONVNET.replace("input 28 28 1", "input ? ? 1").replace("flatten", "globalmaxpool2d"), r"open height or width, so the images need a size"),
])
def test_image_options_must_fit_the_input(registry, tmp_path, photos, options, text, pattern):
    with pytest.raises(DataError, match=pattern):
        prepared(registry, tmp_path, model(registry, options=options, text=text))


def test_check_refuses_options_of_another_format_and_unknown_kinds_of_file(registry):
    with pytest.raises(SpecError) as err:
        check('input 4\ndense 2\nloss mse\ndata "t.csv" image_size=(8, 8)', registry=registry)
    d = err.value.diagnostics[0]
    assert d.code == codes.DATA_OPTION and "image_size= applies to folder data, not to '.csv' files" in d.message
    with pytest.raises(SpecError) as err:
        check('input 4\ndense 2\nloss mse\ndata "photos/" label=y', registry=registry)
    assert err.value.diagnostics[0].code == codes.DATA_OPTION
    with pytest.raises(SpecError) as err:
        check('input 4\ndense 2\nloss mse\ndata "t.xlsx"', registry=registry)
    assert err.value.diagnostics[0].code == codes.UNKNOWN_DATA_FORMAT
    ok = check('input 28 28 1\nflatten\ndense 2\nloss mse\ndata "photos" image_size=28 color_mode=grayscale',
               registry=registry)
    assert dict(ok.training.data.options) == {"image_size": 28, "color_mode": "grayscale"}


# Reading (TensorFlow) --------------------------------------------------------------------------


@pytest.mark.keras
def test_batches_hold_the_written_pixels_scaled_and_their_labels(registry, tmp_path):
    written = write_digit_folder(tmp_path / "photos", classes=(3, 7), per_class=6, rgb=True)
    m = model(registry, classes=2, text=CONVNET.replace("28 28 1", "28 28 3"))
    p = prepared(registry, tmp_path, m, test_split=0.0)
    x, y = next(iter(p.x_train.dataset(12)))
    assert x.shape == (12, 28, 28, 3) and x.dtype.name == "float32" and y.shape == (12,)
    by_label = {0: [v for k, v in written.items() if k.startswith("seven")],
                1: [v for k, v in written.items() if k.startswith("three")]}
    for image, label in zip(x.numpy(), y.numpy()):  # seven < three: sorted names
        assert any(np.allclose(image, pixels / 255.0, atol=1e-6) for pixels in by_label[int(label)])
    features = next(iter(p.x_train.features(4)))
    assert features.shape == (4, 28, 28, 3)


@pytest.mark.keras
def test_grayscale_input_without_a_channel_axis_and_resizing(registry, tmp_path, photos):
    text = CONVNET.replace("input 28 28 1\nconv2d 4 3 relu\n", "input 14 14\n")
    p = prepared(registry, tmp_path, model(registry, text=text))
    x, _ = next(iter(p.x_test.dataset(4)))
    assert x.shape == (4, 14, 14) and float(np.max(x)) <= 1.0


@pytest.mark.keras
@pytest.mark.slow
def test_run_trains_evaluates_and_resumes_on_an_image_folder(tmp_path, monkeypatch, capsys):
    from nndsl.cli import main

    write_digit_folder(tmp_path / "photos", classes=(0, 1, 2), per_class=60)
    (tmp_path / "photos" / "two" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "spec.nn").write_text(CONVNET.format(classes=3, options=" bad_files=skip"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "spec.nn", "--out", "r", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "warning: skipped 1 image that cannot be read (bad_files=skip): two/broken.png is a truncated PNG" in out
    metrics = json.load(open(tmp_path / "r" / "metrics.json"))
    assert metrics["samples"] == {"train": 162, "validation": 0, "test": 18}
    assert metrics["test"]["accuracy"] >= 0.85, metrics
    assert main(["evaluate", "r", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["samples"] == 18 and evaluated["metrics"]["accuracy"] == pytest.approx(
        metrics["test"]["accuracy"])
    assert main(["run", "--resume", "r", "--epochs", "4"]) == 0
    assert json.load(open(tmp_path / "r" / "metrics.json"))["epochs"] == 4


def test_a_trainer_that_takes_no_streams_is_refused_before_training(registry, tmp_path, photos):
    from nndsl.errors import UsageError
    from nndsl.run.runner import _check_streams
    from nndsl.run.trainer import Trainer

    trainer = Trainer(None, registry)
    trainer.framework = "PyTorch"
    with pytest.raises(UsageError, match=r"read from disk while training \(tf.data\), which the PyTorch trainer"):
        _check_streams(prepared(registry, tmp_path), trainer)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("example, bar", [("digit_folders.nn", 0.9), ("penguins.nn", 0.9)])
def test_the_data_examples_train_to_their_bar(example, bar, tmp_path, capsys):
    """spec/examples' image-folder and table examples, as shipped, with their own fit settings."""
    from nndsl.cli import main

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "spec", "examples", example)
    assert main(["run", path, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    metrics = json.load(open(tmp_path / "run" / "metrics.json"))
    assert metrics["test"]["accuracy"] >= bar, metrics["test"]


def _has_string_inputs() -> bool:
    from nndsl.statements import INPUT_DTYPES

    return "string" in INPUT_DTYPES


@pytest.mark.keras
@pytest.mark.skipif(not _has_string_inputs(), reason="string inputs are not in the language yet")
@pytest.mark.parametrize("shape, batch_shape", [("", (4,)), (" 1", (4, 1))])
def test_a_folder_of_text_files_feeds_a_string_input(registry, tmp_path, shape, batch_shape):
    words = {"neg": ["dull and slow", "a waste of time", "boring plot", "bad acting"],
             "pos": ["a joy to watch", "great fun", "loved every minute", "brilliant cast"]}
    for label, texts in words.items():
        (tmp_path / "reviews" / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (tmp_path / "reviews" / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "reviews" / "pos" / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    spec = (f'input review{shape} dtype=string\ntextvectorization 50 output_sequence_length=4\nembedding 50 2\n'
            f'flatten\ndense 2 softmax\nloss sparse_categorical_crossentropy\ndata "reviews/" bad_files=skip')
    model = check(spec, registry=registry)
    p = prepare_data(model.training.data, model, registry, base_dir=str(tmp_path), test_split=0.0)
    assert p.warnings[0] == ("skipped 1 text file that cannot be read (bad_files=skip): pos/latin1.txt is not "
                             "UTF-8 text (byte 0xe9 at offset 3)")
    x, y = next(iter(p.x_train.dataset(4)))
    assert x.dtype.name == "string" and tuple(x.shape) == batch_shape
    texts = {t.decode() for t in x.numpy().reshape(-1)}
    assert texts <= set(words["neg"]) | set(words["pos"])
