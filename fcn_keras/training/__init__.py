"""Training: recipes (data), optimizers, callbacks, run folders, the checks of its batches, the `train` loops,
and `run_training`, a whole run from its `TrainingSettings`.

Names load their modules on first use; `fcn_keras.training.recipes` and `fcn_keras.training.settings` need no
Keras. Training runs on every Keras backend; `train` reads tf.data pipelines, which load TensorFlow.
"""

from fcn_keras.lazy_imports import lazy_namespace

__getattr__, __dir__, __all__ = lazy_namespace(__name__, {
    "fcn_keras.training.callbacks": ["BestModel", "EpochBackup", "NaNGuard"],
    "fcn_keras.training.batches": ["check_batches"],
    "fcn_keras.training.class_weights": ["median_frequency_weights"],
    "fcn_keras.training.loop": ["train", "train_staged"],
    "fcn_keras.training.optimizers": ["LinearWarmUp", "compile_for_training", "recipe_loss", "recipe_optimizer",
                                      "recipe_optimizer_and_loss"],
    "fcn_keras.training.recipes": ["LR_SCHEDULES", "PAPER_LEARNING_RATES", "PAPER_MOMENTUM", "PAPER_WEIGHT_DECAY",
                                   "PRACTICAL_LEARNING_RATE", "RECIPES", "REFERENCE_PIXELS"],
    "fcn_keras.models.fcn_model": ["variant_of"],  # where the recipes' paper learning rates are looked up
    "fcn_keras.training.runner": ["run_training"],
    "fcn_keras.training.settings": ["ConflictingSettings", "TrainingSettings"],
    "fcn_keras.training.run_folder": ["BACKUP_DIR", "BEST_MODEL", "LAST_MODEL", "LOG_FILE", "TENSORBOARD_DIR",
                                      "training_run", "worker_output_dir"],
})
