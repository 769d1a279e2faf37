"""Figures computed from the collected data: wage reference tables with disclosure control,
satisfaction, self-assessment and participation. Pure functions over columns where
possible; nothing here imports ``collection`` or ``web``."""
