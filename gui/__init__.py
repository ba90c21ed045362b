"""The PySide6 workbench: views, models and workers over :mod:`petitions`.

No business rule lives here; see :mod:`petitions.review` for the model.
"""
