"""Predictive risk stratification (C7): models, honest evaluation, tiers."""

from commissioning.risk.model import EmergencyAdmissionRiskModel, ParrLikeBaseline
from commissioning.risk.stratify import RiskEvaluation, evaluate_risk, risk_tiers

__all__ = [
    "EmergencyAdmissionRiskModel",
    "ParrLikeBaseline",
    "RiskEvaluation",
    "evaluate_risk",
    "risk_tiers",
]
