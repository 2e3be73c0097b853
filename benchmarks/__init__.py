"""Benchmarks of stori-envs: throughput, evaluation loops, results stores and leaderboards."""
