"""Preprocessing and augmentation layers against real Keras: shapes and parameter counts.

Keras is the oracle (tests/parity.py builds each spec with Keras and compares every layer);
the cases cover each output mode and the input shapes each layer takes.
"""

from __future__ import annotations

import pytest

import nndsl
from nndsl import codes
from nndsl.diagnostics import SpecError
from parity import assert_keras_parity

CASES = [
    # text
    "input t dtype=string\ntextvectorization 100 output_sequence_length=8\nembedding 100 4",
    "input t 1 dtype=string\ntextvectorization max_tokens=50 output_sequence_length=6",
    "input t 1 dtype=string\ntextvectorization 20",
    "input t dtype=string\ntextvectorization 64 output_mode=multi_hot pad_to_max_tokens=true\ndense 3",
    "input t 1 dtype=string\ntextvectorization 64 output_mode=count pad_to_max_tokens=true",
    "input t dtype=string\ntextvectorization output_mode=multi_hot vocabulary=(\"a\", \"b\", \"c\")\ndense 2",
    "input t dtype=string\ntextvectorization 30 output_mode=tf_idf pad_to_max_tokens=true",
    "input t dtype=string\ntextvectorization output_mode=multi_hot",
    "input t dtype=string\ntextvectorization standardize=lower split=character ngrams=2 output_sequence_length=5",
    # string and integer lookups
    "input s 1 dtype=string\nstringlookup",
    "input s 3 dtype=string\nstringlookup vocabulary=(\"x\", \"y\") mask_token=\"\" num_oov_indices=2",
    "input s 1 dtype=string\nstringlookup output_mode=one_hot vocabulary=(\"a\", \"b\")\ndense 2",
    "input s dtype=string\nstringlookup output_mode=one_hot vocabulary=(\"a\", \"b\")",
    "input s 3 dtype=string\nstringlookup output_mode=one_hot vocabulary=(\"a\", \"b\")",
    "input s 3 dtype=string\nstringlookup output_mode=multi_hot vocabulary=(\"a\", \"b\", \"c\")\ndense 2",
    "input s 3 dtype=string\nstringlookup output_mode=count max_tokens=10 pad_to_max_tokens=true",
    "input s 1 dtype=string\nstringlookup output_mode=one_hot",
    "input s 1 dtype=string\nstringlookup max_tokens=5 oov_token=\"?\"\nembedding 5 3",
    "input i 1 dtype=int64\nintegerlookup",
    "input i 1 dtype=int32\nintegerlookup output_mode=one_hot vocabulary=(3, 5, 7)\ndense 2",
    "input i 4 dtype=int64\nintegerlookup output_mode=multi_hot max_tokens=8 pad_to_max_tokens=true",
    "input i 2 dtype=int64\nintegerlookup vocabulary=(1, 2) mask_token=0 oov_token=-7",
    # discretization
    "input 3\ndiscretization bin_boundaries=(0.0, 1.0, 2.0)",
    "input 3\ndiscretization num_bins=4 output_mode=one_hot",
    "input 1\ndiscretization num_bins=4 output_mode=one_hot\ndense 2",
    "input 2 3\ndiscretization bin_boundaries=(-1, 1) output_mode=one_hot",
    "input 3\ndiscretization num_bins=5 output_mode=multi_hot epsilon=0.1",
    "input 3\ndiscretization bin_boundaries=(0.5,) output_mode=count",
    # normalization, fed by preprocessing
    "input 5\nnormalization\ndense 2",
    "input 4 3\nnormalization axis=none",
    # images
    "input 32 32 3\nrandomflip\nrandomrotation 0.1\nrandomzoom 0.2\nrandomcontrast 0.3\nconv2d 4 3",
    "input 32 32 3\nrandomflip horizontal seed=1\nrandomrotation (-0.2, 0.3) fill_mode=constant fill_value=0.5",
    "input 32 32 1\nrandomzoom (-0.1, 0.2) (0.1, 0.1) interpolation=nearest\nrandomcontrast 0.1 value_range=(0, 1)",
    "input 32 32 3\nrandomcrop 24 20\nflatten",
    "input 32 32 3\nrandomcrop 40 40",
    "input 32 32 3\nresizing 16 8 interpolation=nearest\ncentercrop 4 4\nflatten\ndense 2",
    "input ? ? 3\nresizing 64 64 crop_to_aspect_ratio=true\nconv2d 2 3",
    "input 32 32 3\ncentercrop 40 50",
    "input 28 28 1\nrescaling 0.00392\nrandomflip vertical",
]


@pytest.mark.keras
@pytest.mark.parametrize("text", CASES)
def test_preprocessing_layer_matches_keras(text, registry):
    assert_keras_parity(text, registry)


@pytest.mark.parametrize("text, code", [
    ("input t 1 dtype=string\ndense 3", codes.STRINGS_TO_NUMBERS),
    ("input t dtype=string\nflatten", codes.STRINGS_TO_NUMBERS),
    ("input 3\nstringlookup", codes.NUMBERS_TO_STRINGS),
    ("input 3\ntextvectorization", codes.NUMBERS_TO_STRINGS),
    ("input t 2 dtype=string\ntextvectorization", codes.SHAPE),
    ("input t dtype=string\ntextvectorization output_mode=multi_hot\ndense 2", codes.SHAPE),
    ("input t dtype=string\ntextvectorization output_mode=count output_sequence_length=3", codes.SHAPE),
    ("input s 2 2 dtype=string\nstringlookup output_mode=multi_hot", codes.SHAPE),
    ("input 3\ndiscretization", codes.SHAPE),
    ("input 3\ndiscretization bin_boundaries=(1.0,) num_bins=3", codes.SHAPE),
    ("input 3\ndiscretization bin_boundaries=(1.0, 0.5)", codes.ARG_RANGE),
    ("input s 1 dtype=string\nstringlookup vocabulary=(\"a\", \"a\")", codes.ARG_RANGE),
    ("input s 1 dtype=string\nstringlookup vocabulary=(1, 2)", codes.ARG_TYPE),
    ("input 784\nrandomflip", codes.SHAPE),
    ("input 8 8 3\nrandomzoom 1.5", codes.ARG_RANGE),
    ("input 8 8 3\nrandomrotation (0.3, 0.1)", codes.ARG_RANGE),
    ("input 8 8 3\nrandomflip sideways", codes.ARG_TYPE),
    ("input 8 8 3\nresizing 4", codes.MISSING_ARG),
    ("input dtype=int32\ndense 2", codes.MISSING_ARG),
])
def test_preprocessing_mistakes_are_diagnosed(text, code, registry):
    with pytest.raises(SpecError) as info:
        nndsl.check(text, registry=registry)
    assert code in [d.code for d in info.value.diagnostics], str(info.value)


def test_a_string_input_has_shape_scalar_or_one(registry):
    assert nndsl.check("input t dtype=string\nstringlookup", registry=registry).inputs[0].shape == ()
    model = nndsl.check("input t 1 dtype=string\nstringlookup", registry=registry)
    assert (model.inputs[0].shape, model.inputs[0].dtype) == ((1,), "string")


@pytest.mark.keras
@pytest.mark.parametrize("name", ["preprocessing_text", "preprocessing_images"])
def test_conformance_specs_match_keras(name, registry):
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "spec" / "conformance" / "valid" / f"{name}.nn"
    assert_keras_parity(path.read_text(encoding="utf-8"), registry)
