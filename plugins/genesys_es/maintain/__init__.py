"""Maintain: the maintenance plan and actions, the audit trail and notifications."""
