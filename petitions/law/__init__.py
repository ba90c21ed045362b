"""The law and its arithmetic: rule sets, sampling, projection, triage,
duplicates, agreement, reason codes and the resolution of rulings.

Pure functions over data; nothing here imports the store.
"""
