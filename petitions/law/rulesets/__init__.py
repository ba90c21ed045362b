"""California rule sets shipped as package data (JSON); see petitions.law.rules."""
