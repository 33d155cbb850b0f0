"""`fcn-keras benchmark`: how fast FCNs run on the machine at hand, measured in one run.

Each inference case (variant, backbone, geometry, size, batch, runtime) gets its
median latency, images/s, convolution GFLOP/s and their ratio to the machine's
best fp32 matmul measured in the same run, the memory it gained and its logits'
agreement with Keras float32. The demo's training step, its input pipeline and
the number of graphs serving varied sizes compiles come with them.

Example:
    >>> results = run_benchmark([ModelSpec("fcn32s", "vgg16_tiny", "paper")], sizes=[(24, 24)], batches=[1],
    ...                         runtimes=["keras", "tf_function"], repeats=1, serving_sizes=None,
    ...                         progress=lambda line: None)
    >>> [row["runtime"] for row in results["inference"]]
    ['keras', 'tf_function']
"""

from fcn_keras.benchmark.inference import ModelSpec, model_specs
from fcn_keras.benchmark.report import markdown, plot_latency, result_paths, write_results
from fcn_keras.benchmark.run import run_benchmark, serving_graphs
from fcn_keras.benchmark.runtimes import RUNTIMES, get_runtime

__all__ = ["RUNTIMES", "ModelSpec", "get_runtime", "markdown", "model_specs", "plot_latency", "result_paths",
           "run_benchmark", "serving_graphs", "write_results"]
