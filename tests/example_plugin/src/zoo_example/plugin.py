"""Hook implementations: metadata only. Importing this module imports neither torch nor the model."""

import zoo
from zoo import DatasetSpec, ExplainerSpec, ModelSpec, Paper

LENET = Paper("Gradient-Based Learning Applied to Document Recognition", venue="Proceedings of the IEEE 1998",
              url="http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf")


@zoo.hookimpl
def zoo_models():
    return [
        ModelSpec(
            name="example-lenet5", domain="vision", task="classification", paper=LENET,
            builder="zoo_example.lenet:LeNet5", example_input="zoo_example.lenet:example_input",
            default_config={"num_classes": 10, "in_channels": 1}, num_params=61_706,
            explain_layer="features.3", license="mit",
            description="LeNet-5 for 32x32 digits: two conv/pool stages and three fully connected layers.",
        )
    ]


@zoo.hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="example-mnist", domain="vision", task="classification", builder="zoo_example.mnist:MNIST",
            layout="train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                   "t10k-labels-idx1-ubyte (optionally .gz)",
            homepage="https://yann.lecun.com/exdb/mnist/", paper=LENET,
        )
    ]


@zoo.hookimpl
def zoo_explainers():
    return [
        ExplainerSpec(
            name="occlusion", builder="zoo_example.occlusion:occlusion", needs_gradients=False,
            paper=Paper("Visualizing and Understanding Convolutional Networks", arxiv="1311.2901", venue="ECCV 2014"),
            description="Drop in the target score when a sliding grey patch hides each region.",
        )
    ]
