"""``data "table.csv"`` / ``.parquet``: columns feed inputs by name; missing values; streamed reading."""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pytest

from nndsl.check import check
from nndsl.data import prepare_data
from nndsl.data.stream import is_stream, split_rows
from nndsl.errors import DataError

PENGUINS_SPEC = """input bill_length_mm 1
input bill_depth_mm 1
input flipper_length_mm 1
input body_mass_g 1
x = concat(bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g) -> batchnorm -> dense 16 relu
output species = x -> dense 3 softmax
adam 0.01
loss sparse_categorical_crossentropy
metrics accuracy
fit epochs=30 seed=1
data "penguins.csv" label=species{options}
"""
NUMBERS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")


@pytest.fixture
def penguins(tmp_path):
    """The real Palmer penguins table (344 rows, 'NA' for missing values) from its package."""
    package = pytest.importorskip("palmerpenguins")
    shutil.copy(os.path.join(os.path.dirname(package.__file__), "data", "penguins.csv"), tmp_path / "penguins.csv")
    return tmp_path / "penguins.csv"


def prepared(registry, tmp_path, options="", text=PENGUINS_SPEC, **split):
    model = check(text.format(options=options), registry=registry)
    return prepare_data(model.training.data, model, registry, base_dir=str(tmp_path), **split)


def table_rows(path):
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# Columns by name, word labels, missing values ---------------------------------------------------


def test_missing_values_are_counted_per_column_and_stop_the_run(registry, tmp_path, penguins):
    with pytest.raises(DataError) as err:
        prepared(registry, tmp_path)
    assert str(err.value).startswith(
        "'penguins.csv' has missing values: 'bill_length_mm' 2 (first on line 5), 'bill_depth_mm' 2 (first on line 5), "
        "'flipper_length_mm' 2 (first on line 5), 'body_mass_g' 2 (first on line 5)\n")  # 'sex' feeds nothing
    assert "missing=drop" in err.value.hint and "missing=fill" in err.value.hint


def test_columns_feed_inputs_by_name_and_word_labels_become_sorted_class_ids(registry, tmp_path, penguins):
    p = prepared(registry, tmp_path, " missing=drop", seed=2)
    assert p.source == "penguins.csv (344 rows, 8 columns; CSV)"
    assert "classes from column 'species', in sorted order: 0 Adelie, 1 Chinstrap, 2 Gentoo" in p.notes
    assert any(n.startswith("dropped 2 of 344 rows with missing values") for n in p.notes)
    assert set(p.x_train) == set(NUMBERS) and p.x_train["body_mass_g"].shape[1:] == (1,)
    kept = [r for r in table_rows(penguins) if r["bill_length_mm"] != "NA"]
    train, _, test, _ = split_rows(len(kept), seed=2, validation_split=None, test_split=0.1)
    # the rows are those of the seeded permutation, in its order (as nndsl.prepare orders arrays)
    want = np.array([float(kept[i]["body_mass_g"]) for i in test], dtype=np.float32)
    assert np.array_equal(p.x_test["body_mass_g"][:, 0], want)
    names = ["Adelie", "Chinstrap", "Gentoo"]
    assert list(p.y_train) == [names.index(kept[i]["species"]) for i in train]


def test_fill_uses_the_mean_of_the_training_rows_only(registry, tmp_path, penguins):
    p = prepared(registry, tmp_path, " missing=fill", seed=0, validation_split=0.2)
    rows = table_rows(penguins)
    train, _, _, _ = split_rows(len(rows), seed=0, validation_split=0.2, test_split=0.1)
    present = [float(rows[i]["bill_length_mm"]) for i in train if rows[i]["bill_length_mm"] != "NA"]
    mean = float(np.mean(present))
    note = next(n for n in p.notes if n.startswith("filled missing values"))
    assert f"'bill_length_mm' {mean:.6g}" in note
    gaps = [k for k, i in enumerate(train) if rows[i]["bill_length_mm"] == "NA"]
    assert gaps and all(p.x_train["bill_length_mm"][k, 0] == np.float32(mean) for k in gaps)


@pytest.mark.parametrize("text, options, pattern", [
    ("a,b,label\n1,2,0\n3,4\n", "", r"^t.csv:3:4: this row has 2 fields; the header has 3 \(a, b, label\)"),
    ("a,b,label\n1,2,0\n3,\"x, y\",1\n", "", r"^t.csv:3:3: column 'b' holds 'x, y', not a number \(it feeds input 'b'"),
    ("a,c,label\n1,2,0\n", "", r"the model's inputs are fed by the columns of their names, but 't.csv' has no column 'b'"),
    ("a,b,label\n1,2,0\n", " label=kind", r"'t.csv' has no column 'kind' \(columns: a, b, label\)"),
    ("a,b,label\n1,NA,0\n2,,1\n", " missing=drop", r"column 'b' of 't.csv' has no values at all \(2 missing\)"),
    ("a,b,label\n1,2,cat\n3,4,dog\n5,6,emu\n", "", r"label column 'label' has 3 classes \(cat, dog, emu\) but output "
                                                   r"'y' has shape \(2,\)"),
    ("a,b,label\n1,2,0\n3,4,NA\n", " missing=fill", r"(?s)missing values: 'label' 1 .*a missing label cannot be filled"),
    ("a,b,label\n", "", r"has a header but no rows of data"),
])
def test_bad_tables_point_at_the_row_and_column(registry, tmp_path, text, options, pattern):
    (tmp_path / "t.csv").write_text(text)
    spec = ('input a 1\ninput b 1\noutput y = concat(a, b) -> dense 2 softmax\nloss sparse_categorical_crossentropy\n'
            'data "t.csv"{options}')
    with pytest.raises(DataError, match=pattern):
        prepared(registry, tmp_path, options, text=spec)


def test_an_all_numbers_table_keeps_the_array_loader(registry, tmp_path):
    (tmp_path / "t.csv").write_text("f1,f2,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20)))
    p = prepared(registry, tmp_path, text='input 2\ndense 2 softmax\nloss sparse_categorical_crossentropy\n'
                                          'data "t.csv"{options}')
    assert p.source == "t.csv (20 rows, 2 features, label column 'label')" and p.x_train.shape[1:] == (2,)


# Streaming and Parquet --------------------------------------------------------------------------------


@pytest.mark.keras
def test_a_streamed_table_yields_the_rows_held_in_memory(registry, tmp_path, penguins):
    memory = prepared(registry, tmp_path, " missing=drop stream=false", seed=5, validation_split=0.2)
    streamed = prepared(registry, tmp_path, " missing=drop stream=true", seed=5, validation_split=0.2)
    assert is_stream(streamed.x_val) and len(streamed.x_val) == len(memory.y_val)
    batches = list(streamed.x_val.dataset(16))
    assert len(batches) == -(-len(memory.y_val) // 16)
    x = np.concatenate([b[0]["body_mass_g"].numpy() for b in batches])
    y = np.concatenate([b[1].numpy() for b in batches])
    # the stream reads in file order; the same rows, the same pairs
    order, want = np.argsort(x[:, 0], kind="stable"), np.argsort(memory.x_val["body_mass_g"][:, 0], kind="stable")
    assert np.array_equal(x[order], memory.x_val["body_mass_g"][want])
    assert sorted(zip(x[:, 0], y)) == sorted(zip(memory.x_val["body_mass_g"][:, 0], memory.y_val))


def test_parquet_reads_like_csv(registry, tmp_path, penguins):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pcsv.read_csv(str(penguins), convert_options=pcsv.ConvertOptions(null_values=["NA"]))
    pq.write_table(table, str(tmp_path / "penguins.parquet"))
    spec = PENGUINS_SPEC.replace("penguins.csv", "penguins.parquet")
    from_parquet = prepared(registry, tmp_path, " missing=drop", text=spec, seed=2)
    from_csv = prepared(registry, tmp_path, " missing=drop", seed=2)
    assert from_parquet.source.endswith("; Parquet)") and pa is not None
    for name in NUMBERS:
        assert np.allclose(from_parquet.x_test[name], from_csv.x_test[name])
    assert np.array_equal(from_parquet.y_train, from_csv.y_train)


def test_parquet_without_pyarrow_says_which_extra_to_install(registry, tmp_path, monkeypatch):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DataError, match=r"needs pyarrow, which is not installed") as err:
        prepared(registry, tmp_path, text='input 2\ndense 1\nloss mse\ndata "t.parquet"{options}')
    assert err.value.hint == "install it with: pip install nndsl[parquet]"


@pytest.mark.keras
@pytest.mark.slow
def test_run_trains_on_the_penguins_table_streamed(tmp_path, penguins, monkeypatch, capsys):
    from nndsl.cli import main

    (tmp_path / "spec.nn").write_text(PENGUINS_SPEC.format(options=" missing=drop stream=true"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "spec.nn", "--out", "r"]) == 0
    out = capsys.readouterr().out
    assert "read from disk in chunks" in out and "ran out of data" not in out
    metrics = json.load(open(tmp_path / "r" / "metrics.json"))
    assert metrics["samples"]["test"] == 34 and metrics["test"]["accuracy"] >= 0.85, metrics
    assert main(["evaluate", "r", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["samples"] == 34


def test_nndsl_data_prints_the_plan_run_would_use_without_tensorflow(tmp_path, penguins):
    import subprocess

    (tmp_path / "spec.nn").write_text(PENGUINS_SPEC.format(options=" missing=drop"))
    code = ("import sys; from nndsl.cli import main; code = main(['data', sys.argv[1]]); "
            "print('tensorflow imported:', 'tensorflow' in sys.modules); sys.exit(code)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "spec.nn")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("data: penguins.csv (344 rows, 8 columns; CSV)\n")
    assert "  - classes from column 'species', in sorted order: 0 Adelie, 1 Chinstrap, 2 Gentoo\n" in out.stdout
    assert "  - train 308 / test 34 samples\n" in out.stdout  # 342 rows kept, 10% held out
    assert out.stdout.rstrip().endswith("tensorflow imported: False")
    (tmp_path / "spec.nn").write_text(PENGUINS_SPEC.format(options=""))
    bad = subprocess.run([sys.executable, "-c", code, str(tmp_path / "spec.nn")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode == 3 and "'penguins.csv' has missing values" in bad.stderr
