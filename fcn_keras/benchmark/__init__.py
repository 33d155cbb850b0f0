"""`fcn-keras benchmark`: how fast FCNs run on the machine at hand, measured in one run.

Each inference case (variant, backbone, geometry, size, batch, runtime) gets its
median latency, images/s, convolution GFLOP/s and their ratio to the machine's
best fp32 matmul measured in the same run, the memory it gained and its logits'
agreement with Keras float32. The demo's training step, its input pipeline, the
number of graphs serving varied sizes compiles and, given the demo's trained
model, what each runtime's precision costs in mean IU come with them.

Example:
    >>> from fcn_keras.benchmark import ModelCase, run_benchmark
    >>> results = run_benchmark([ModelCase("fcn32s", "vgg16_tiny", "paper")], sizes=[(24, 24)], batches=[1],
    ...                         runtimes=["keras", "tf_function"], repeats=1, serving_sizes=None,
    ...                         progress=lambda line: None)
    >>> [row["runtime"] for row in results["inference"]]
    ['keras', 'tf_function']
"""

from fcn_keras.lazy_imports import lazy_namespace

__getattr__, __dir__, __all__ = lazy_namespace(__name__, {
    "fcn_keras.benchmark.inference": ["ModelCase", "check_memory", "model_cases"],
    "fcn_keras.benchmark.quality": ["demo_quality", "precision_quality"],
    "fcn_keras.benchmark.report": ["claimed_results", "markdown", "plot_latency", "result_paths", "write_results"],
    "fcn_keras.benchmark.run": ["run_benchmark", "serving_graphs"],
    "fcn_keras.benchmark.runtimes": ["RUNTIMES", "get_runtime"],
})
