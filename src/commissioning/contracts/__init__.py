"""Secure stage: contracts as code, outcomes frameworks, payment curves and the stress test
(C13, C15, C17)."""
