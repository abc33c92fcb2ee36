from zoo.testing import plugin_suite

TestConformance = plugin_suite(
    "lipreading",
    models={"td3net-base", "td3net-best", "td3net-best-wb", "ms-tcn", "dc-tcn", "dc-tcn-wb"},
    datasets={"lrw", "lrw-1000"},
    forbidden=("torch", "numpy", "av", "cv2", "mediapipe"),
)
