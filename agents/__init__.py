"""Baseline agents of stori-envs behind one interface."""
