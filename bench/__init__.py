"""Benchmarks of the portal, run against real processes on 127.0.0.1 (``make bench``).

Each benchmark is a module run with ``python -m bench.<name>``; it starts and stops every
process it needs and writes its results into README.md between the ``bench`` markers.
"""
