"""``nndsl run --backend torch``: the :class:`nndsl.run.trainer.Trainer` for PyTorch.

A plain loop: shuffled mini-batches each epoch (the arrays are moved to the device once), the
spec's optimizer, losses summed over outputs as Keras sums them, streaming metrics, validation
after each epoch, gradient clipping (``clipnorm``, ``clipvalue``, ``global_clipnorm``), and the
``early_stopping`` and ``reduce_lr_on_plateau`` callbacks. Logs use Keras' names (``loss``,
``accuracy``, ``val_loss``, ``digit_accuracy`` for several outputs), so ``history.csv`` and
``metrics.json`` read the same whichever backend trained.

Files hold weights only: ``model.safetensors`` when the safetensors package is installed, else
``model.pt`` (a ``torch.save`` of the state dict); checkpoints add the optimizer state. Every
load uses ``weights_only=True`` (or safetensors): nothing is ever unpickled.
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

from nndsl.diagnostics import UsageError
from nndsl.run.device import Device, Placement
from nndsl.run.trainer import Trainer, class_weights

_PRECISIONS = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def _safetensors() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


class TorchTrainer(Trainer):
    checkpoint_suffix = ".pt"
    framework = "PyTorch"

    def __init__(self, backend, registry):
        super().__init__(backend, registry)
        self.model_file = "model.safetensors" if _safetensors() else "model.pt"
        self.device = None
        self.module = None
        self.model = None
        self.optimizer = None
        self.autocast_dtype = None
        self.callbacks: list[_Callback] = []
        self.stop = False
        self.terminate_on_nan = False

    # where ----------------------------------------------------------------------------------

    def place(self, settings, *, workers=None, task_index=None):
        import torch

        strategy = settings.get("strategy") or "auto"
        if strategy not in ("auto", "none") or workers:
            raise UsageError(f"--strategy {strategy} needs a Keras backend; --backend torch trains on one device")
        precision = settings.get("precision")
        if precision not in (None, "float32", *_PRECISIONS):
            raise UsageError(f"--precision {precision} is not available with --backend torch")
        software = f"PyTorch {torch.__version__}"
        if torch.cuda.is_available():
            self.device = torch.device("cuda")
            platform = f"ROCm {torch.version.hip}" if getattr(torch.version, "hip", None) else f"CUDA {torch.version.cuda}"
            device = Device("GPU", (torch.cuda.get_device_name(0),), "torch", software, platform, driver="")
        else:
            self.device = torch.device("cpu")
            device = Device("CPU", ("CPU",), "torch", software, driver="")
        return Placement(device, None, "default", 1)

    def seed(self, settings):
        import torch

        if settings.get("seed") is not None:
            torch.manual_seed(int(settings["seed"]))
        self.autocast_dtype = _PRECISIONS.get(settings.get("precision") or "")

    def environment(self):
        import torch

        return {"torch_version": torch.__version__, "torch_device": str(self.device) if self.device else None}

    # the model --------------------------------------------------------------------------------

    def plan(self, model, settings, n_train):
        import torch

        batches = math.ceil(n_train / settings["batch_size"]) if n_train else 0
        notes = [f"{batches} batches of {settings['batch_size']} "
                 "per epoch"]
        if self.autocast_dtype:
            notes.append(f"autocast {self.autocast_dtype}")
        keras_only = [k for k in ("steps_per_execution", "jit_compile", "pipeline")
                      if settings.get(k) is not None or model.training.fit_options.get(k) is not None]
        self.plan_warnings = tuple(f"{k} is a Keras setting; --backend torch ignores it" for k in keras_only)
        return notes

    def _module(self, model):
        from .backend import TorchBackend
        from .model import build_module

        TorchBackend().check_trainable(model, self.registry)
        self.model = model
        module = build_module(model, self.registry)
        return module.to(self.device or "cpu")

    def build(self, model, settings):
        from .lowering import default_optimizer, optimizer_call
        from .model import instantiate, resolve

        self.module = self._module(model)
        from .schedules import constraint_terms, penalty_terms

        opt = model.training.optimizer or default_optimizer()
        call = optimizer_call(opt, self.registry)
        self.optimizer = resolve(call.cls)(self.module.parameters(), **{k: instantiate(v) for k, v in call.kwargs})
        rate = opt.attr.get("learning_rate")
        self.schedule = rate if rate is not None and not isinstance(rate, (int, float)) else None
        self.penalties = penalty_terms(model, self.module, self.registry)
        self.constraints = constraint_terms(model, self.module, self.registry)
        self.class_weights = None   # set by fit() from fit class_weight=
        self.clipping = {k: v for k, v in opt.attr.items() if k in ("clipnorm", "clipvalue", "global_clipnorm")
                         and v is not None}
        self.losses = _losses(model, self.registry)
        self.metrics = _metrics(model, self.registry)
        self.callbacks = [_Callback.make(cb) for cb in model.training.callbacks
                          if cb.name not in ("terminate_on_nan", "learning_rate_scheduler", "csv_logger")]
        self.terminate_on_nan = any(cb.name == "terminate_on_nan" for cb in model.training.callbacks)

    def adapt(self, layers, x_train, settings):
        """Keras' ``Normalization.adapt`` for a ``normalization`` fed straight by an input: the
        mean and (population) variance over every axis but the kept ones, from the training rows
        (``count`` stays 0, as Keras 3 leaves it)."""
        import numpy as np
        import torch

        from nndsl.errors import RunError

        from .model import attribute_names

        names = attribute_names([n.name for n in self.model.nodes])
        nodes = {n.name: n for n in self.model.nodes}
        inputs = [i.name for i in self.model.inputs]
        lines = []
        for name, sources in layers.items():
            node = nodes[name]
            if node.op != "normalization" or list(node.inputs) != list(sources) or sources[0] not in inputs:
                raise RunError(f"backend 'torch' adapts only a normalization applied straight to an input; "
                               f"'{name}' ({node.op}) needs a Keras backend")
            if not isinstance(x_train, (dict, np.ndarray)):
                raise RunError("backend 'torch' adapts normalization on in-memory arrays only")
            data = np.asarray(x_train[sources[0]] if isinstance(x_train, dict) else x_train, dtype=np.float64)
            axes = node.attr["axis"]
            axes = () if axes is None else (axes,) if isinstance(axes, int) else tuple(axes)
            kept = {a % data.ndim for a in axes}
            reduce = tuple(i for i in range(data.ndim) if i not in kept)
            layer = getattr(self.module, names[name])
            mean, variance = data.mean(axis=reduce), data.var(axis=reduce)
            with torch.no_grad():
                layer.mean.copy_(torch.as_tensor(mean.reshape(layer.mean.shape), dtype=layer.mean.dtype))
                layer.variance.copy_(torch.as_tensor(variance.reshape(layer.variance.shape), dtype=layer.variance.dtype))
            lines.append(f"{name} (Normalization): mean and variance of {mean.size} value(s)")
        return lines

    def restore(self, model, settings, checkpoint):
        import torch

        self.build(model, settings)
        state = torch.load(checkpoint, map_location=self.device, weights_only=True)
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for cb, cb_state in zip(self.callbacks, state.get("callbacks", [])):
            cb.__dict__.update(cb_state)

    def load(self, model, path):
        if model is None:
            raise UsageError(f"{path}: a PyTorch weights file needs its run directory (run.json and spec.nn "
                             "beside it) to rebuild the model")
        self.device = self.device or _default_device()
        self.module = self._module(model)
        self.module.load_state_dict(_read_weights(path, self.device))
        self.losses = _losses(model, self.registry)
        self.metrics = _metrics(model, self.registry)

    # tensors ----------------------------------------------------------------------------------

    def _tensors(self, data, names):
        import torch

        if data is None:
            return None
        arrays = data if isinstance(data, Mapping) else {names[0]: data}
        return {k: torch.as_tensor(v).to(self.device) for k, v in arrays.items()}

    def _forward(self, x):
        import torch

        if self.autocast_dtype:
            with torch.autocast(self.device.type, dtype=getattr(torch, self.autocast_dtype)):
                out = self.module(x)
        else:
            out = self.module(x)
        if not isinstance(out, dict):
            out = {self.model.outputs[0]: out}
        return {k: v.float() for k, v in out.items()}

    def _loss(self, y, out, class_weights=None):
        from .runtime import configured_loss, loss_value

        parts = {}
        options = dict(self.model.training.loss_options)
        for o, name in self.losses.items():
            sample_weight = _sample_weights(class_weights, y[o]) if class_weights is not None else None
            fn = configured_loss(name, options.get(o, options.get("")))
            parts[o] = loss_value(fn, y[o], out[o], sample_weight)
        weights = dict(getattr(self.model.training, "loss_weights", ()))  # Keras: the total is weighted
        total = sum(weights.get(o, 1.0) * v for o, v in parts.items())
        return total + self._penalty(), parts

    def _penalty(self):
        """Keras adds each regularized weight's l1 * sum|w| + l2 * sum(w^2) to the loss (fit and evaluate)."""
        total = 0.0
        for l1, l2, param in getattr(self, "penalties", ()):
            if l1:
                total = total + l1 * param.abs().sum()
            if l2:
                total = total + l2 * param.square().sum()
        return total

    def _log_names(self):
        many = len(self.model.outputs) > 1
        for o in self.model.outputs:
            for name, _ in self.metrics.get(o, []):
                yield o, name, f"{o}_{name}" if many else name

    # training and use -------------------------------------------------------------------------

    def fit(self, prepared, settings, *, initial_epoch, on_epoch_end, reporter):
        import torch

        inputs = [i.name for i in self.model.inputs]
        outputs = list(self.model.outputs)
        x, y = self._tensors(prepared.x_train, inputs), self._tensors(prepared.y_train, outputs)
        n = len(next(iter(x.values())))
        batch = int(settings["batch_size"])
        generator = torch.Generator(device="cpu")
        verbose = not reporter.quiet and not reporter.as_json
        class_weights = self._class_weights(prepared.y_train, reporter)
        step = initial_epoch * math.ceil(n / batch)  # the optimizer's updates so far (Keras' iterations)
        epoch_schedules = [dict(cb.options)["schedule"] for cb in self.model.training.callbacks
                           if cb.name == "learning_rate_scheduler"]
        csv_logs = [_CsvLogger(cb, self.registry, settings.get("run_dir"), resuming=initial_epoch > 0)
                    for cb in self.model.training.callbacks if cb.name == "csv_logger"]
        for epoch in range(initial_epoch, int(settings["epochs"])):
            started = time.perf_counter()
            for schedule in epoch_schedules:  # Keras' LearningRateScheduler: the epoch is the step
                from .schedules import learning_rate

                for group in self.optimizer.param_groups:
                    group["lr"] = learning_rate(schedule, self.registry, epoch)
            self.module.train()
            generator.manual_seed(int(settings.get("data_seed") or 0) * 100_003 + epoch)
            order = (torch.randperm(n, generator=generator) if settings.get("shuffle", True)
                     else torch.arange(n)).to(self.device)
            total, seen = 0.0, 0
            per_output = {o: 0.0 for o in self.losses}
            for metric in self._all_metrics():
                metric.reset()
            steps = 0
            for start in range(0, n, batch):
                rows = order[start:start + batch]
                xb = {k: v[rows] for k, v in x.items()}
                yb = {k: v[rows] for k, v in y.items()}
                out = self._forward(xb)
                loss, parts = self._loss(yb, out, class_weights)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self._clip()
                if self.schedule is not None:
                    from .schedules import learning_rate

                    for group in self.optimizer.param_groups:
                        group["lr"] = learning_rate(self.schedule, self.registry, step)
                self.optimizer.step()
                self._project()
                step += 1
                if self.terminate_on_nan and not torch.isfinite(loss.detach()):  # Keras checks every batch
                    reporter.info(f"Batch {steps}: Invalid loss, terminating training")
                    self.stop = True
                size = len(rows)
                total = total + loss.detach() * size  # a device tensor: one sync per epoch, not per step
                for o, value in parts.items():
                    per_output[o] = per_output[o] + value.detach() * size
                seen += size
                steps += 1
                with torch.no_grad():
                    self._update_metrics(yb, out)
                if self.stop:
                    break
            logs = {"loss": float(total) / max(seen, 1)}
            if len(outputs) > 1:
                logs.update({f"{o}_loss": float(v) / max(seen, 1) for o, v in per_output.items()})
            logs.update(self._metric_results())
            if prepared.x_val is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(prepared.x_val, prepared.y_val, batch).items()})
            if epoch_schedules:
                logs["learning_rate"] = float(self.optimizer.param_groups[0]["lr"])
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs, reporter)
            for log in csv_logs:
                log.write(epoch, logs)
            if verbose:
                took = time.perf_counter() - started
                reporter.info(f"Epoch {epoch + 1}/{settings['epochs']}")
                reporter.info(f"{steps}/{steps} - {took:.0f}s - {1000 * took / max(steps, 1):.0f}ms/step - "
                              + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
            on_epoch_end(epoch, logs)
            if self.stop:
                break

    def _project(self):
        """Keras applies each weight's constraint after every update: w <- constraint(w)."""
        if not getattr(self, "constraints", None):
            return
        import torch

        with torch.no_grad():
            for name, o, param, axis_of in self.constraints:
                param.copy_(_constrained(name, o, param, axis_of))

    def _class_weights(self, y_train, reporter):
        """``fit class_weight=``: a tensor of weights by class id, as the Keras trainer computes them."""
        import torch

        weighed = class_weights(self.model, y_train, reporter)
        if weighed is None:
            return None
        result, classes = weighed
        return torch.tensor([result.get(c, 1.0) for c in range(max(classes, len(result)))],
                            dtype=torch.float32, device=self.device)

    def _clip(self):
        import torch

        params = [p for p in self.module.parameters() if p.grad is not None]
        if "clipvalue" in self.clipping:
            torch.nn.utils.clip_grad_value_(params, self.clipping["clipvalue"])
        if "clipnorm" in self.clipping:  # Keras clips each gradient on its own
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], self.clipping["clipnorm"])
        if "global_clipnorm" in self.clipping:
            torch.nn.utils.clip_grad_norm_(params, self.clipping["global_clipnorm"])

    def _all_metrics(self):
        return [m for ms in self.metrics.values() for _, m in ms]

    def _update_metrics(self, y, out):
        for o, ms in self.metrics.items():
            for _, metric in ms:
                metric.update(y[o], out[o])

    def _metric_results(self) -> dict[str, float]:
        many = len(self.model.outputs) > 1
        return {(f"{o}_{name}" if many else name): float(metric.result())
                for o, ms in self.metrics.items() for name, metric in ms}

    def evaluate(self, x, y, batch_size):
        import torch

        inputs = [i.name for i in self.model.inputs]
        outputs = list(self.model.outputs)
        xt, yt = self._tensors(x, inputs), self._tensors(y, outputs)
        n = len(next(iter(xt.values())))
        was_training = self.module.training
        self.module.eval()
        for metric in self._all_metrics():
            metric.reset()
        total, per_output = 0.0, {o: 0.0 for o in self.losses}
        with torch.no_grad():
            for start in range(0, n, batch_size):
                xb = {k: v[start:start + batch_size] for k, v in xt.items()}
                yb = {k: v[start:start + batch_size] for k, v in yt.items()}
                out = self._forward(xb)
                loss, parts = self._loss(yb, out)
                size = len(next(iter(xb.values())))
                total += float(loss) * size
                for o, value in parts.items():
                    per_output[o] += float(value) * size
                self._update_metrics(yb, out)
        self.module.train(was_training)
        result = {"loss": total / max(n, 1)}
        if len(outputs) > 1:
            result.update({f"{o}_loss": v / max(n, 1) for o, v in per_output.items()})
        result.update(self._metric_results())
        return result

    def predict(self, x, batch_size):
        import numpy as np
        import torch

        xt = self._tensors(x, [i.name for i in self.model.inputs])
        n = len(next(iter(xt.values())))
        self.module.eval()
        parts: dict[str, list] = {o: [] for o in self.model.outputs}
        with torch.no_grad():
            for start in range(0, n, batch_size):
                out = self._forward({k: v[start:start + batch_size] for k, v in xt.items()})
                for o, v in out.items():
                    parts[o].append(v.cpu().numpy())
        result = {o: np.concatenate(v) for o, v in parts.items()}
        return result[self.model.outputs[0]] if len(result) == 1 else result

    def input_specs(self):
        return [(tuple(i.shape), i.dtype) for i in self.model.inputs]

    def input_names(self):
        return [i.name for i in self.model.inputs]

    def output_names(self):
        return list(self.model.outputs)

    def save(self, path):
        _write_weights(path, self.module.state_dict(), safetensors=self.model_file.endswith(".safetensors"))

    def save_checkpoint(self, path):
        import torch

        torch.save({"model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "callbacks": [cb.state() for cb in self.callbacks]}, path)


def _constrained(name, o, w, axis_of):
    """Keras 3's constraint formulas (epsilon 1e-7), over Keras' axes mapped to the runtime layout."""
    import torch

    if name == "non_neg":
        return w * (w >= 0).to(w.dtype)
    axes = o["axis"] if isinstance(o["axis"], (tuple, list)) else (o["axis"],)
    dims = tuple(sorted({axis_of(a) for a in axes}))
    norms = torch.sqrt(torch.sum(w * w, dim=dims, keepdim=True))
    if name == "unit_norm":
        return w / (1e-7 + norms)
    if name == "max_norm":
        desired = torch.clamp(norms, 0.0, o["max_value"])
    else:  # min_max_norm
        desired = o["rate"] * torch.clamp(norms, o["min_value"], o["max_value"]) + (1 - o["rate"]) * norms
    return w * desired / (1e-7 + norms)


def _sample_weights(class_weights, y):
    """Each sample's class weight, as Keras turns class_weight into sample weights: the class is
    the argmax of a one-hot row, else the rounded label."""
    import torch

    if y.dim() > 1 and y.shape[-1] != 1:
        ids = y.argmax(-1)
    else:
        ids = (y.squeeze(-1) if y.dim() > 1 else y)
    ids = torch.round(ids.float()).long().clamp(0, len(class_weights) - 1)
    return class_weights[ids]


def _default_device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _write_weights(path: str, state: Mapping[str, Any], safetensors: bool) -> None:
    import torch

    if safetensors:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, path)
    else:
        torch.save(dict(state), path)


def _read_weights(path: str, device) -> dict:
    import torch

    from nndsl.run.runner import RunError

    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            return load_file(path, device=str(device))
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file: say which and why
        raise RunError(f"{path}: cannot load the weights: {type(e).__name__}: {e}") from e


def _losses(model, registry) -> dict[str, str]:
    """Output name -> runtime loss name (one loss for every output unless the spec names each)."""
    from .lowering import loss_function

    given = dict(model.training.losses)
    return {o: loss_function(given.get(o) or given.get(""), registry) for o in model.outputs
            if (given.get(o) or given.get(""))}


def _metrics(model, registry) -> dict[str, list[tuple[str, Any]]]:
    """Output name -> [(log name, fresh metric)], ``accuracy`` resolved as Keras resolves it."""
    from .lowering import METRICS
    from .runtime import METRICS as MAKERS

    losses = dict(model.training.losses)
    out: dict[str, list] = {}
    for o in model.outputs:
        loss = registry.losses.get(losses.get(o) or losses.get("", ""))
        labels = loss.labels if loss is not None else "values"
        shape = tuple(model.tensor_shape(o))
        for target, name in model.training.metrics:
            if target and target != o:
                continue
            key = METRICS[name]
            log = "accuracy" if key == "accuracy" else key
            if key == "accuracy":
                key = ("sparse_categorical_accuracy" if labels == "sparse" else
                       "binary_accuracy" if labels == "binary" or shape[-1:] == (1,) else "categorical_accuracy")
            out.setdefault(o, []).append((log, MAKERS[key]()))
    return out


class _CsvLogger:
    """``callback csv_logger``: Keras' CSVLogger (a header of ``epoch`` and the sorted log names, a
    row per epoch); a relative filename lies inside the run directory, and a resumed run appends."""

    def __init__(self, cb, registry, run_dir, resuming: bool):
        import os

        o = {p.name: p.default for p in registry.callbacks["csv_logger"].params}
        o.update(dict(cb.options))
        path = o["filename"]
        if run_dir is not None and not os.path.isabs(path):
            path = os.path.join(run_dir, path)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path, self.separator = path, o["separator"]
        append = bool(o["append"]) or resuming
        self.header = not (append and os.path.exists(path) and os.path.getsize(path) > 0)
        if not append:
            open(path, "w", encoding="utf-8").close()
        self.keys = None

    def write(self, epoch: int, logs: Mapping[str, float]) -> None:
        import csv

        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):  # as Keras: val_ columns (NA) all the same
                self.keys += ["val_" + k for k in self.keys]
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["epoch", *self.keys], delimiter=self.separator)
            if self.header:
                writer.writeheader()
                self.header = False
            writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})


class _Callback:
    """The spec's ``callback`` statements, as Keras runs them (on the epoch's logs)."""

    def __init__(self, name: str, options: Mapping[str, Any]):
        self.name = name
        self.monitor = options.get("monitor", "val_loss")
        mode = options.get("mode", "auto")
        self.sign = -1.0 if mode == "max" or (mode == "auto" and "acc" in self.monitor) else 1.0
        self.patience = int(options.get("patience", 0 if name == "early_stopping" else 10))
        self.min_delta = float(options.get("min_delta", 0.0 if name == "early_stopping" else 1e-4))
        self.factor = float(options.get("factor", 0.1))
        self.cooldown = int(options.get("cooldown", 0))
        self.min_lr = float(options.get("min_lr", 0.0))
        self.start_from_epoch = int(options.get("start_from_epoch", 0))
        self.restore_best = bool(options.get("restore_best_weights", False))
        self.best = math.inf
        self.wait = 0
        self.cooling = 0
        self.best_weights = None

    @classmethod
    def make(cls, cb) -> "_Callback":
        return cls(cb.name, dict(cb.options))

    def state(self) -> dict:
        return {"best": self.best, "wait": self.wait, "cooling": self.cooling}

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, logs: dict, reporter) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        score = self.sign * value
        if self.name == "early_stopping":
            if epoch < self.start_from_epoch:
                return
            if score < self.best - self.min_delta:
                self.best, self.wait = score, 0
                if self.restore_best:
                    self.best_weights = {k: v.detach().clone() for k, v in trainer.module.state_dict().items()}
            else:
                self.wait += 1
                if self.wait >= self.patience:
                    trainer.stop = True
                    if self.restore_best and self.best_weights is not None:
                        trainer.module.load_state_dict(self.best_weights)
            return
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if score < self.best - self.min_delta:
            self.best, self.wait = score, 0
        elif self.cooling == 0:
            self.wait += 1
            if self.wait >= self.patience:
                for group in trainer.optimizer.param_groups:
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)
                reporter.info(f"reduce_lr_on_plateau: learning rate {trainer.optimizer.param_groups[0]['lr']:.3g}")
                self.cooling, self.wait = self.cooldown, 0
        logs["learning_rate"] = float(trainer.optimizer.param_groups[0]["lr"])
