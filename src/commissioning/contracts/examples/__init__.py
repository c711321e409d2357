"""Example contracts for the seeds' worked scenarios (TOML package data)."""
