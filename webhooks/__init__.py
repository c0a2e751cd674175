"""Webhook handling without a web framework: signature checks and event → command routing."""
