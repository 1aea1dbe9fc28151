"""The reading side: which emails a user sees, their per-user state, search, rendering and
navigation.
"""
