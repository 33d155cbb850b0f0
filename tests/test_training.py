"""Training: recipes, a fit that learns, exact resume, NaN guard and output-folder safety."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import fcn_keras
from fcn_keras.data import prepare, synthetic_shapes
from fcn_keras.models import variant_of
from fcn_keras.training import (
    PAPER_LEARNING_RATES,
    REFERENCE_PIXELS,
    compile_for_training,
    recipe_optimizer_and_loss,
    train,
)

NUM_CLASSES = 3


def tiny_model():
    return fcn_keras.build_fcn8s(NUM_CLASSES, backbone="vgg16_tiny", padding="same", dropout=0)


def tiny_data(images=8, seed=0, batch_size=4):
    return prepare(synthetic_shapes(images, (32, 32), NUM_CLASSES, seed=seed), batch_size=batch_size,
                   training=True, seed=seed)


@pytest.mark.backends
@pytest.mark.parametrize("variant", ["fcn32s", "fcn16s", "fcn8s"])
def test_paper_recipes(variant):
    optimizer, loss = recipe_optimizer_and_loss("paper", variant)
    assert float(optimizer.learning_rate) == pytest.approx(PAPER_LEARNING_RATES[variant], rel=1e-6)
    assert optimizer.momentum == 0.99 and optimizer.weight_decay == 5e-4 and loss.reduction == "sum"
    optimizer, loss = recipe_optimizer_and_loss("paper_normalized", variant)
    assert float(optimizer.learning_rate) == pytest.approx(PAPER_LEARNING_RATES[variant] * REFERENCE_PIXELS,
                                                           rel=1e-6)
    assert loss.reduction == "mean"


@pytest.mark.backends
def test_practical_recipe_decays_polynomially():
    optimizer, loss = recipe_optimizer_and_loss("practical", "fcn8s", total_steps=100, learning_rate=1e-3)
    schedule = optimizer._learning_rate  # the schedule itself; .learning_rate is its current value
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(50)) == pytest.approx((1e-3 - 1e-5) * 0.5**0.9 + 1e-5, rel=1e-5)
    assert float(schedule(100)) == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="Unknown recipe 'fast'. Valid recipes: paper, paper_normalized, practical"):
        recipe_optimizer_and_loss("fast", "fcn8s")


@pytest.mark.backends
def test_poly_schedule_is_deeplabs_and_constant_keeps_the_rate():
    optimizer, _ = recipe_optimizer_and_loss("practical", "fcn8s", total_steps=120, learning_rate=1e-3,
                                             warmup_steps=20, lr_schedule="poly")
    steps = np.array([20, 45, 70, 119, 120])
    expected = 1e-3 * (1 - (steps - 20) / 100) ** 0.9  # after the warm-up, over the remaining 100 steps, to zero
    assert [float(optimizer._learning_rate(step)) for step in steps] == pytest.approx(expected, rel=1e-5, abs=1e-12)
    optimizer, _ = recipe_optimizer_and_loss("practical", "fcn8s", total_steps=100, learning_rate=1e-3,
                                             lr_schedule="constant")
    assert float(optimizer.learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="lr_schedule='poly' is a schedule of the practical recipe"):
        recipe_optimizer_and_loss("paper", "fcn8s", lr_schedule="poly")
    with pytest.raises(ValueError, match="Unknown lr_schedule 'cosine'. Valid schedules: decay, poly, constant"):
        recipe_optimizer_and_loss("practical", "fcn8s", lr_schedule="cosine")


@pytest.mark.backends
def test_warm_up_ramps_linearly_then_hands_over_to_the_decay():
    optimizer, _ = recipe_optimizer_and_loss("practical", "fcn8s", total_steps=110, learning_rate=1e-3,
                                             warmup_steps=10)
    rate = optimizer._learning_rate
    assert [round(float(rate(step)), 8) for step in (0, 4, 9)] == [1e-4, 5e-4, 1e-3]
    # after the ramp: the polynomial decay over the remaining 100 steps, from its start
    assert float(rate(60)) == pytest.approx((1e-3 - 1e-5) * 0.5**0.9 + 1e-5, rel=1e-5)
    assert float(rate(110)) == pytest.approx(1e-5)
    sgd, _ = recipe_optimizer_and_loss("paper", "fcn32s", warmup_steps=4)
    assert float(sgd._learning_rate(1)) == pytest.approx(0.5e-10)


@pytest.mark.backends
def test_warm_up_survives_a_keras_file_round_trip(tmp_path):
    model = tiny_model()
    compile_for_training(model, total_steps=50, learning_rate=2e-3, warmup_steps=5)
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    before, after = model.optimizer._learning_rate, loaded.optimizer._learning_rate
    assert type(after).__name__ == "LinearWarmUp"
    assert [float(after(step)) for step in (0, 3, 20)] == pytest.approx([float(before(step)) for step in (0, 3, 20)])


@pytest.mark.backends
def test_fit_lowers_the_loss(tmp_path):
    model = tiny_model()
    history = train(model, tiny_data(16), tiny_data(8, seed=1), output_dir=str(tmp_path / "run"), epochs=6,
                    learning_rate=3e-3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    for name in ("best.keras", "last.keras", "log.csv", "tensorboard"):
        assert os.path.exists(tmp_path / "run" / name)
    assert not os.path.exists(tmp_path / "run" / "backup")  # removed after a finished run
    assert len(open(tmp_path / "run" / "log.csv").read().strip().splitlines()) == 7  # header + 6 epochs
    best = keras.models.load_model(tmp_path / "run" / "best.keras")
    assert max(history.history["val_mean_iou"]) == pytest.approx(
        best.evaluate(tiny_data(8, seed=1), return_dict=True, verbose=0)["mean_iou"], abs=1e-5)


class Interrupt(keras.callbacks.Callback):
    """Kills training at a global step, as a crash or a pre-empted machine would."""

    def __init__(self, at_step):
        super().__init__()
        self.at_step, self.step = at_step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == self.at_step:
            raise KeyboardInterrupt


@pytest.mark.backends
def test_resume_gives_the_uninterrupted_result(tmp_path):
    epochs, steps = 3, 4  # 16 images in batches of 4
    keras.utils.set_random_seed(1)
    reference = tiny_model()
    train(reference, tiny_data(16), output_dir=str(tmp_path / "straight"), epochs=epochs, learning_rate=3e-3,
          verbose=0)

    keras.utils.set_random_seed(1)
    model = tiny_model()
    with pytest.raises(KeyboardInterrupt):  # dies in the middle of epoch 2
        train(model, tiny_data(16), output_dir=str(tmp_path / "resumed"), epochs=epochs, learning_rate=3e-3,
              callbacks=[Interrupt(steps + 2)], verbose=0)
    assert os.path.isdir(tmp_path / "resumed" / "backup")
    keras.utils.set_random_seed(1)  # the same script run again (tf.data seeds depend on the global seed)
    resumed = tiny_model()
    resumed.set_weights([np.zeros_like(w) for w in resumed.get_weights()])  # must come from the backup
    train(resumed, tiny_data(16), output_dir=str(tmp_path / "resumed"), epochs=epochs, learning_rate=3e-3,
          verbose=0)
    assert int(resumed.optimizer.iterations) == int(reference.optimizer.iterations) == epochs * steps
    for expected, got in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert len(open(tmp_path / "resumed" / "log.csv").read().strip().splitlines()) == 1 + epochs


def test_epoch_datasets_resume_without_rebuilding_the_finished_epochs(tmp_path):
    source = synthetic_shapes(16, (32, 32), NUM_CLASSES)
    built = []

    def data(epoch):
        built.append(epoch)
        return prepare(source, batch_size=4, training=True, seed=5, epoch=epoch)

    keras.utils.set_random_seed(2)
    reference = tiny_model()
    train(reference, data, output_dir=str(tmp_path / "straight"), epochs=3, learning_rate=3e-3, verbose=0)
    keras.utils.set_random_seed(2)
    with pytest.raises(KeyboardInterrupt):  # dies in the middle of epoch 2
        train(tiny_model(), data, output_dir=str(tmp_path / "resumed"), epochs=3, learning_rate=3e-3,
              callbacks=[Interrupt(6)], verbose=0)
    built.clear()
    keras.utils.set_random_seed(2)
    resumed = tiny_model()
    train(resumed, data, output_dir=str(tmp_path / "resumed"), epochs=3, learning_rate=3e-3, verbose=0)
    assert built == [1, 2]  # epoch 0 is neither decoded nor even built again
    for expected, got in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    first, second = (next(iter(data(epoch)))[1].numpy() for epoch in (0, 1))
    assert not np.array_equal(first, second)  # each epoch its own order and augmentation
    np.testing.assert_array_equal(next(iter(data(0)))[1].numpy(), first)  # and the same each time


def test_resumed_run_keeps_a_better_best_model(tmp_path):
    run = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(), tiny_data(8), output_dir=run, epochs=3, callbacks=[Interrupt(3)], verbose=0)
    with open(os.path.join(run, "log.csv")) as file:  # pretend epoch 1 scored a loss no epoch will beat
        header, row = file.read().strip().splitlines()
    with open(os.path.join(run, "log.csv"), "w") as file:
        file.write(header + "\n" + row.replace(row.split(",")[1], "0.0001", 1) + "\n")
    before = os.path.getmtime(os.path.join(run, "best.keras"))
    train(tiny_model(), tiny_data(8), output_dir=run, epochs=3, verbose=0)
    assert os.path.getmtime(os.path.join(run, "best.keras")) == before


@pytest.mark.backends
def test_nan_loss_stops_and_keeps_the_last_good_model(tmp_path):
    snapshots = {}

    class PoisonAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots[epoch] = self.model.get_weights()

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                layer = self.model.get_layer("score_fr")
                layer.set_weights([np.full_like(w, np.nan) for w in layer.get_weights()])

    run = tmp_path / "nan"
    with pytest.raises(FloatingPointError, match=r"NaN/inf at epoch 2, batch 1.*last.keras"):
        train(tiny_model(), tiny_data(8), tiny_data(4, seed=1), output_dir=str(run), epochs=3, verbose=0,
              callbacks=[PoisonAfterFirstEpoch()])
    for name in ("last.keras", "best.keras"):  # both hold epoch 1, not the NaN epoch 2
        saved = keras.models.load_model(run / name).get_weights()
        for expected, got in zip(snapshots[0], saved):
            np.testing.assert_array_equal(got, expected)


def test_run_stopped_in_its_first_epoch_starts_again(tmp_path):
    run = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(), tiny_data(8), output_dir=run, epochs=2, callbacks=[Interrupt(1)], verbose=0)
    assert sorted(os.listdir(run)) == ["backup", "log.csv", "tensorboard"]  # an unfinished run, no epoch done
    assert json.load(open(os.path.join(run, "backup", "state.json")))["epoch"] == 0
    train(tiny_model(), tiny_data(8), output_dir=run, epochs=2, verbose=0)
    assert len(open(os.path.join(run, "log.csv")).read().strip().splitlines()) == 3


def test_a_resume_on_other_data_is_refused_and_the_backup_kept(tmp_path):
    run = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):  # dies in epoch 2 of 2-step epochs
        train(tiny_model(), tiny_data(8), output_dir=run, epochs=2, callbacks=[Interrupt(3)], verbose=0)
    with pytest.raises(ValueError, match=r"trained on 2 batches per pass over its data, this data gives 3; "
                                         r"resume it with the same data"):
        train(tiny_model(), tiny_data(12), output_dir=run, epochs=2, verbose=0)
    cropped = prepare(synthetic_shapes(8, (32, 32), NUM_CLASSES), batch_size=4, training=True, seed=0, crop_size=16)
    with pytest.raises(ValueError, match=r"trained on batches of \(None, 32, 32, 3\) float32, \(None, 32, 32\) int32, "
                                         r"this data gives \(None, 16, 16, 3\) float32, \(None, 16, 16\) int32"):
        train(tiny_model(), cropped, output_dir=run, epochs=2, verbose=0)
    assert json.load(open(os.path.join(run, "backup", "state.json")))["epoch"] == 1
    train(tiny_model(), tiny_data(8), output_dir=run, epochs=2, verbose=0)  # the same data resumes
    assert len(open(os.path.join(run, "log.csv")).read().strip().splitlines()) == 3


def test_finished_runs_are_not_overwritten(tmp_path):
    run = str(tmp_path / "run")
    train(tiny_model(), tiny_data(4), output_dir=run, epochs=1, verbose=0)
    before = os.path.getmtime(os.path.join(run, "best.keras"))
    with pytest.raises(FileExistsError, match="already holds a finished run.*overwrite=True"):
        train(tiny_model(), tiny_data(4), output_dir=run, epochs=1, verbose=0)
    assert os.path.getmtime(os.path.join(run, "best.keras")) == before
    train(tiny_model(), tiny_data(4), output_dir=run, epochs=1, verbose=0, overwrite=True)
    assert len(open(os.path.join(run, "log.csv")).read().strip().splitlines()) == 2


def test_training_outputs_are_checked_before_any_work(tmp_path):
    from fcn_keras.training.run_folder import check_training_output

    (tmp_path / "staged" / "fcn8s").mkdir(parents=True)
    (tmp_path / "staged" / "fcn8s" / "best.keras").write_bytes(b"a finished last stage")
    with pytest.raises(FileExistsError, match="already holds a finished staged run"):
        check_training_output(str(tmp_path / "staged"), staged=True)
    check_training_output(str(tmp_path / "staged"), overwrite=True, staged=True)
    check_training_output(str(tmp_path / "new"), staged=True)  # nothing there yet: fine
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="it is a file"):
        check_training_output(str(tmp_path / "file"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "staged"]  # nothing was created


def test_missing_parent_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="parent folder .*nowhere does not exist"):
        train(tiny_model(), tiny_data(4), output_dir=str(tmp_path / "nowhere" / "run"), epochs=1, verbose=0)


def test_bad_labels_and_empty_data_are_refused_by_name(tmp_path):
    masks = np.zeros((2, 32, 32), "uint8")
    masks[0, :2, :2], masks[1, :2, :2] = 4, 255
    five_class_data = tf.data.Dataset.from_tensor_slices((np.zeros((2, 32, 32, 3), "uint8"), masks)).batch(2)
    with pytest.raises(ValueError, match=r"^train_data has the label 4 but the model predicts 3 classes "
                                         r"\(labels 0 to 2 and 255 = ignore\); fix the masks"):
        train(tiny_model(), five_class_data, output_dir=str(tmp_path / "a"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^validation_data has the label 4"):
        train(tiny_model(), tiny_data(4), five_class_data, output_dir=str(tmp_path / "b"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="train_data is empty"):
        train(tiny_model(), tiny_data(4).take(0), output_dir=str(tmp_path / "c"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_data is empty"):
        train(tiny_model(), tiny_data(4), tiny_data(4).take(0), output_dir=str(tmp_path / "d"), epochs=1, verbose=0)


def test_bad_labels_are_caught_under_xla_too(tmp_path):
    """XLA (Keras' default on GPUs) drops the loss's assert; the input pipeline's check stays."""
    model = tiny_model()
    model.compile(keras.optimizers.Adam(1e-3), fcn_keras.losses.SegmentationCrossEntropy(), jit_compile=True)
    masks = np.full((2, 32, 32), 7, "uint8")
    data = tf.data.Dataset.from_tensor_slices((np.zeros((2, 32, 32, 3), "uint8"), masks)).batch(2)
    with pytest.raises(ValueError, match="^train_data has the label 7"):
        train(model, data, output_dir=str(tmp_path / "run"), epochs=1, verbose=0)


def test_label_errors_are_read_from_every_way_tensorflow_reports_them():
    from fcn_keras.labels import label_error

    line = ("assertion failed: [train_data has the label] [9] [but the model predicts] [3] [classes (labels 0 to] "
            "[2] [and] [255] [= ignore); fix the masks.]")
    expected = "train_data has the label 9 but the model predicts 3 classes (labels 0 to 2 and 255 = ignore); " \
               "fix the masks."
    assert label_error(tf.errors.InvalidArgumentError(None, None, f"Graph execution error:\n\n{line}\n")) == expected
    several_replicas = f"2 root error(s) found.\n  (0) INVALID_ARGUMENT:  {line}\n\t [[{{{{node x}}}}]]"
    assert label_error(tf.errors.InvalidArgumentError(None, None, several_replicas)) == expected
    assert label_error(tf.errors.InvalidArgumentError(None, None, "assertion failed: [something else] [1]")) is None


def test_cached_data_is_not_peeked_at(tmp_path):
    """A partial read of a `cache()`d pipeline makes TensorFlow warn and drop the cache: train reads whole epochs."""
    import os
    import subprocess
    import sys

    script = f"""
import sys
from fcn_keras import build_fcn8s, train
from fcn_keras.data import prepare, synthetic_shapes

def cached():  # more images than prefetching reads ahead
    return prepare(synthetic_shapes(512, (16, 16), 3), batch_size=64, cache=True)

train(build_fcn8s(3, backbone="vgg16_tiny", padding="same"), cached(), cached(), output_dir={str(tmp_path / "r")!r},
      epochs=1, verbose=0)
print("TRAINED", file=sys.stderr, flush=True)
next(iter(cached()))  # what a peek at the first batch did
"""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    during_training, after = result.stderr.split("TRAINED")
    assert "did not fully read the dataset being cached" not in during_training
    assert "did not fully read the dataset being cached" in after


def test_a_stage_with_a_log_but_no_best_model_is_not_skipped_silently(tmp_path):
    from fcn_keras.training import train_staged

    stage = tmp_path / "staged" / "fcn32s"
    stage.mkdir(parents=True)
    (stage / "log.csv").write_text("epoch,loss\n0,nan\n")  # a run whose only epoch went NaN
    with pytest.raises(FileExistsError, match=r"already holds a finished run \(log.csv\)"):
        train_staged(NUM_CLASSES, tiny_data(4), output_dir=str(tmp_path / "staged"), epochs=1,
                     backbone="vgg16_tiny", padding="same", verbose=0)


def test_compile_under_the_models_strategy():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = tiny_model()
    compile_for_training(model, "paper")
    assert model.distribute_strategy is strategy
    assert model.optimizer._distribution_strategy is strategy  # else fit fails: "Mixing different strategies"
    assert model.loss.reduction == "sum"


def test_staged_training_runs_32s_16s_8s_and_resumes(tmp_path):
    from fcn_keras.training import train_staged

    run = tmp_path / "staged"
    fcn8s = train_staged(NUM_CLASSES, tiny_data(4), tiny_data(4, seed=1), output_dir=str(run), epochs=1,
                         backbone="vgg16_tiny", padding="same", dropout=0, verbose=0)
    assert variant_of(fcn8s) == "fcn8s"
    fcn16s = keras.models.load_model(run / "fcn16s" / "best.keras")
    assert np.count_nonzero(fcn16s.get_layer("score_pool4").get_weights()[0]) > 0  # trained, not zero any more
    stamps = {v: os.path.getmtime(run / v / "best.keras") for v in ("fcn32s", "fcn16s", "fcn8s")}
    train_staged(NUM_CLASSES, tiny_data(4), tiny_data(4, seed=1), output_dir=str(run), epochs=1,
                 backbone="vgg16_tiny", padding="same", dropout=0, verbose=0)
    assert stamps == {v: os.path.getmtime(run / v / "best.keras") for v in stamps}  # finished stages kept


def test_run_training_from_datasets_keeps_a_finished_run_when_asked(tmp_path, capsys):
    from fcn_keras.training import TrainingSettings, run_training

    images = synthetic_shapes(8, (32, 32), NUM_CLASSES)
    settings = TrainingSettings(images, str(tmp_path / "run"), validation_data=synthetic_shapes(4, (32, 32), 3, 1),
                                num_classes=NUM_CLASSES, backbone="vgg16_tiny", padding="same", dropout=0,
                                batch_size=4, epochs=1, precision="float32")
    model = run_training(settings, verbose=0)
    assert variant_of(model) == "fcn8s" and model.get_layer("fc7").dtype_policy.name == "float32"
    assert capsys.readouterr().out == "Training in float32: as asked.\n"
    stamp = os.path.getmtime(tmp_path / "run" / "best.keras")
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        run_training(settings, verbose=0)
    assert run_training(dataclasses.replace(settings, keep_finished=True), verbose=0) is None
    assert os.path.getmtime(tmp_path / "run" / "best.keras") == stamp  # not trained again


def test_run_training_refuses_what_cannot_run_before_making_a_folder(tmp_path):
    from fcn_keras.training import ConflictingSettings, TrainingSettings, run_training

    with pytest.raises(ConflictingSettings, match=r"^staged=True trains fcn32s.*drop `variant`"):
        TrainingSettings("synthetic:8", str(tmp_path / "run"), staged=True, variant="fcn16s")
    images = synthetic_shapes(4, (32, 32), NUM_CLASSES)
    with pytest.raises(ValueError, match="validation would reuse the training images; give validation_data="):
        run_training(TrainingSettings(images, str(tmp_path / "run"), num_classes=NUM_CLASSES))
    with pytest.raises(ValueError, match="^`data` is a dataset, which does not say how many classes it has"):
        run_training(TrainingSettings(images, str(tmp_path / "run"), validation=False))
    with pytest.raises(ValueError, match="^`validation_data`: Unknown data source 'nope:x'"):
        run_training(TrainingSettings("synthetic:8", str(tmp_path / "run"), validation_data="nope:x"))
    assert os.listdir(tmp_path) == []
