"""An email's parent record: the record types, signed Message-IDs, and choosing a parent by hand
(the intake's automatic choice is step 7, intake/link.py).
"""
