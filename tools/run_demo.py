"""The former name of tools/run.py (`make run`), kept for callers that import it
(tools/bench/epd_workloads.py, host_tests/test_epd_demo.py): main(argv) -> result dict."""

from tools.run import EPILOGUE, demo_src, main

__all__ = ["EPILOGUE", "demo_src", "main"]
