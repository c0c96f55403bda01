"""The returnrules benchmark: workload, policy, hand-written yardstick, runner.

See bench/README.md; run it with ``python bench/run.py``.
"""
