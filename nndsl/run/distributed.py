"""Training under ``tf.distribute.MultiWorkerMirroredStrategy`` with a train step of our own.

Keras 3.15's ``Model.fit`` fails under that strategy with TF 2.21 (keras-team/keras#20585: a
``PerReplica`` value reaches ``_maybe_symbolic_build``, then ``strategy.reduce("MEAN", scalar,
axis=0)`` in ``reduce_per_replica``). The loop below avoids ``fit`` without patching Keras:
the same Keras model and optimizer, a ``tf.GradientTape`` inside ``strategy.run``, per-example
losses averaged over the *global* batch (``tf.nn.compute_average_loss``), gradients all-reduced
by ``optimizer.apply_gradients`` in the replica context.

Every worker loads the same data and shuffles it with the same seed; ``tf.data`` auto-sharding
(policy DATA) hands each worker its share of every global batch. The last partial batch is
dropped so all workers run the same number of collective steps.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from ..errors import RunError


def _loss_functions(keras, keras_model) -> Any:
    """The compiled loss(es) as per-example functions: one, or a dict keyed by output name."""
    loss = keras_model.loss
    if isinstance(loss, Mapping):
        return {name: keras.losses.get(value) for name, value in loss.items()}
    if isinstance(loss, (list, tuple)):
        raise RunError("--strategy multiworker takes one loss, or one per named output")
    return keras.losses.get(loss)


def validation_metrics(keras, model_ir, registry) -> list[tuple[str, str, Any]]:
    """(output, log name, fresh Keras metric) for the spec's metrics, resolved as compile() does.

    ``accuracy`` becomes sparse, binary or categorical accuracy by the output's loss and shape,
    like Keras' own resolution of the string.
    """
    from ..backends.keras.lower import KerasLowering

    lowering = KerasLowering(registry)
    losses = dict(model_ir.training.losses)
    many = len(model_ir.outputs) > 1
    out = []
    for output in model_ir.outputs:
        loss = registry.losses.get(losses.get(output) or losses.get("", ""))
        labels = loss.labels if loss is not None else "values"
        shape = tuple(model_ir.tensor_shape(output))
        for target, name in model_ir.training.metrics:
            if target and target != output:
                continue
            keras_name = lowering.metric(name)
            if keras_name == "accuracy":
                if labels == "sparse":
                    metric = keras.metrics.SparseCategoricalAccuracy(name=name)
                elif labels == "binary" or shape[-1:] == (1,):
                    metric = keras.metrics.BinaryAccuracy(name=name)
                else:
                    metric = keras.metrics.CategoricalAccuracy(name=name)
            else:
                metric = keras.metrics.get(keras_name)
                if not isinstance(metric, keras.metrics.Metric):
                    metric = keras.metrics.MeanMetricWrapper(metric, name=name)
            out.append((output, f"val_{output}_{name}" if many else f"val_{name}", metric))
    return out


def fit_multiworker(keras_model, strategy, prepared, settings: Mapping[str, Any], recorder, initial_epoch: int,
                    reporter, metrics: list | None = None) -> None:
    """Train ``settings["epochs"]`` epochs; ``recorder`` gets ``on_epoch_end`` like a Keras callback.

    ``metrics`` (from :func:`validation_metrics`) are computed on the validation rows after each
    epoch; the training logs hold the loss only.
    """
    import keras
    import tensorflow as tf

    global_batch = int(settings["batch_size"])
    x, y = prepared.x_train, prepared.y_train
    n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    if n < global_batch:
        raise RunError(f"--strategy multiworker needs at least one full batch: {n} training samples, "
                       f"batch_size {global_batch}")
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise RunError(f"batch_size {global_batch} does not split evenly over {replicas} replicas")
    losses = _loss_functions(keras, keras_model)
    optimizer = keras_model.optimizer
    with strategy.scope():
        optimizer.build(keras_model.trainable_variables)

    def per_example(y_true, y_pred):
        if isinstance(losses, dict):
            return tf.add_n([tf.cast(losses[k](y_true[k], y_pred[k]), tf.float32) for k in losses])
        return tf.cast(losses(y_true, y_pred), tf.float32)

    def replica_step(xb, yb):
        with tf.GradientTape() as tape:
            pred = keras_model(xb, training=True)
            loss = tf.nn.compute_average_loss(per_example(yb, pred), global_batch_size=global_batch)
            if keras_model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(keras_model.losses))
        grads = tape.gradient(loss, keras_model.trainable_variables)
        optimizer.apply_gradients(zip(grads, keras_model.trainable_variables))
        return loss

    @tf.function
    def train_step(xb, yb):
        per_replica = strategy.run(replica_step, args=(xb, yb))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    base = tf.data.Dataset.from_tensor_slices((x, y))
    recorder.set_model(keras_model)
    for epoch in range(initial_epoch, int(settings["epochs"])):
        started = time.perf_counter()
        data = base
        if settings.get("shuffle", True):
            data = data.shuffle(n, seed=int(settings["data_seed"]) + epoch, reshuffle_each_iteration=False)
        data = data.batch(global_batch, drop_remainder=True).with_options(options)
        total, steps = 0.0, 0
        for xb, yb in strategy.experimental_distribute_dataset(data):
            total += float(train_step(xb, yb))
            steps += 1
        logs = {"loss": total / max(steps, 1)}
        if prepared.x_val is not None:
            logs["val_loss"] = _mean_loss(keras_model, per_example, prepared.x_val, prepared.y_val, global_batch)
            logs.update(_metric_values(keras_model, metrics or [], prepared.x_val, prepared.y_val, global_batch))
        reporter.info(f"epoch {epoch + 1}/{settings['epochs']}: "
                      + ", ".join(f"{k} {v:.4f}" for k, v in logs.items())
                      + f" ({time.perf_counter() - started:.1f} s)")
        recorder.on_epoch_end(epoch, logs)


def _mean_loss(keras_model, per_example, x, y, batch: int) -> float:
    """Mean loss over local data (every worker holds the same validation rows)."""
    import tensorflow as tf

    total, count = 0.0, 0
    for xb, yb in tf.data.Dataset.from_tensor_slices((x, y)).batch(batch):
        values = per_example(yb, keras_model(xb, training=False))
        total += float(tf.reduce_sum(values))
        count += int(values.shape[0])
    return total / max(count, 1)


def _metric_values(keras_model, metrics, x, y, batch: int) -> dict[str, float]:
    """Each metric over local validation data (every worker holds the same rows)."""
    import tensorflow as tf

    if not metrics:
        return {}
    for _, _, metric in metrics:
        metric.reset_state()
    for xb, yb in tf.data.Dataset.from_tensor_slices((x, y)).batch(batch):
        pred = keras_model(xb, training=False)
        for output, _, metric in metrics:
            metric.update_state(yb[output] if isinstance(yb, Mapping) else yb,
                                pred[output] if isinstance(pred, Mapping) else pred)
    return {log: float(metric.result()) for _, log, metric in metrics}
