"""Decide: priority setting and decommissioning (programme budgeting and marginal
analysis), and business cases by HM Treasury's Green Book. Pure calculation: the data in,
the decision's figures out."""
